/**
 * The Vercel AI SDK's resume contract, with the real `ai` package's `DefaultChatTransport` in
 * Node: `reconnectToStream` GETs `<api>/<chatId>/stream` with no cursor and gets a full replay of
 * the running generation (the `id:` lines are ignored by its parser), or `null` on `204`.
 */
import { DefaultChatTransport, type UIMessageChunk } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { createResumable, memoryStore } from 'ssekit/resume';
import { readEvents, serveResumable, sleep, type TestServer } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

const deltas = ['Hel', 'lo, ', 'resumed ', 'world'];

async function setup(): Promise<TestServer> {
  const store = memoryStore();
  const resumable = createResumable({ store });
  const server = await serveResumable(
    resumable,
    () => async (writer) => {
      // The AI SDK's UI message stream protocol: JSON chunks as SSE data, then [DONE].
      await writer.send({ type: 'start' });
      await writer.send({ type: 'text-start', id: 't1' });
      for (const delta of deltas) {
        await sleep(20);
        await writer.send({ type: 'text-delta', id: 't1', delta });
      }
      await writer.send({ type: 'text-end', id: 't1' });
      await writer.send({ type: 'finish' });
    },
    { done: { data: '[DONE]' }, heartbeat: false },
  );
  open.push(store, resumable, server);
  return server;
}

async function chunks(stream: ReadableStream<UIMessageChunk>): Promise<UIMessageChunk[]> {
  const got: UIMessageChunk[] = [];
  for await (const chunk of stream) got.push(chunk);
  return got;
}

describe('the AI SDK resume contract', () => {
  it('reconnectToStream answers null when nothing runs (204)', async () => {
    const { url } = await setup();
    const transport = new DefaultChatTransport({ api: `${url}/s` });
    expect(await transport.reconnectToStream({ chatId: 'nothing' })).toBeNull();
  });

  it('reconnectToStream replays the running generation from its start, once, to its end', async () => {
    const { url } = await setup();
    // The chat starts; its first client leaves after two chunks.
    await readEvents(`${url}/s/chat-1`, { method: 'POST', count: 2 });
    const transport = new DefaultChatTransport({ api: `${url}/s` });
    const stream = await transport.reconnectToStream({ chatId: 'chat-1' });
    expect(stream).not.toBeNull();
    const got = await chunks(stream as ReadableStream<UIMessageChunk>);
    expect(got.map((chunk) => chunk.type)).toEqual([
      'start',
      'text-start',
      ...deltas.map(() => 'text-delta'),
      'text-end',
      'finish',
    ]);
    const text = got.map((chunk) => (chunk.type === 'text-delta' ? chunk.delta : '')).join('');
    expect(text).toBe(deltas.join(''));
  });
});
