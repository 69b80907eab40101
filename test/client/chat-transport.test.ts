/**
 * `chatTransport()` (ssekit/client) as the AI SDK's `ChatTransport` (`ai` 7.0.173, in Node):
 * against the demo's `POST /api/ui-chat` on Express, Koa and Hono, an answer cut mid-stream by a
 * server-side socket destroy goes on from its Last-Event-ID, and `readUIMessageStream` assembles
 * the emulator's text and the tool call; the prompt runs once. `reconnectToStream` replays a
 * running answer and answers `null` (204) when none runs.
 */
import type { Socket } from 'node:net';
import { type ChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { chatTransport, type ReconnectInfo } from 'ssekit/client';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { answerFor, searchDocs, thoughtFor } from '../../demo/emulator.js';
import { frameworks, type Stack, startStack } from '../demo/helpers.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const user = (text: string): UIMessage => ({
  id: 'u1',
  role: 'user',
  parts: [{ type: 'text', text }],
});
const texts = (message: UIMessage | undefined): string[] =>
  (message?.parts ?? []).filter((p) => p.type === 'text').map((p) => (p as { text: string }).text);

async function assemble(stream: ReadableStream<unknown>): Promise<UIMessage | undefined> {
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream: stream as never })) message = m;
  return message;
}

it('is a ChatTransport of the AI SDK', () => {
  expectTypeOf(chatTransport({ api: '/api/ui-chat' })).toExtend<ChatTransport<UIMessage>>();
  expect(() => chatTransport({ api: '' })).toThrow(
    expect.objectContaining({ code: 'INVALID_OPTION', field: 'api' }),
  );
});

describe.each(frameworks)('chatTransport against /api/ui-chat on %s', (framework) => {
  it('goes on from the Last-Event-ID when the answer is cut mid-stream', async () => {
    stack = await startStack(framework);
    const open = new Set<Socket>();
    stack.demo.server.on('connection', (socket: Socket) => void open.add(socket));
    const reconnects: ReconnectInfo[] = [];
    const transport = chatTransport({
      api: `${stack.demo.url}/api/ui-chat`,
      resume: { delay: 10 },
      onReconnect: (info) => reconnects.push(info),
    });
    const prompt = 'transport cut';
    const parts = await transport.sendMessages({
      chatId: 'tc-1',
      messages: [user(prompt)],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    // Cut every connection after the 8th part has been read.
    let read = 0;
    const counted = parts.pipeThrough(
      new TransformStream({
        transform(part, controller) {
          controller.enqueue(part);
          if (++read === 8) for (const socket of open) socket.destroy();
        },
      }),
    );
    const message = await assemble(counted);
    const output = searchDocs(prompt);
    expect(texts(message)).toEqual([thoughtFor(prompt), answerFor(prompt, output)]);
    expect(message?.parts.find((p) => p.type === 'tool-search_docs')).toMatchObject({
      state: 'output-available',
      output,
    });
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]?.url).toBe(`${stack.demo.url}/api/ui-chat/tc-1/stream`);
    expect(stack.emulator.stats.requests).toBe(2); // the plan and the answer: run once
  });

  it('replays a running answer on reconnectToStream, and answers null when none runs', async () => {
    stack = await startStack(framework);
    const transport = chatTransport({ api: `${stack.demo.url}/api/ui-chat` });
    expect(await transport.reconnectToStream({ chatId: 'nothing' })).toBeNull();
    const prompt = 'transport replay';
    const release = stack.emulator.hold(3);
    const controller = new AbortController();
    const first = await transport.sendMessages({
      chatId: 'tc-2',
      messages: [user(prompt)],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: controller.signal,
    });
    const reader = first.getReader();
    await reader.read();
    controller.abort(); // the tab is closed mid-answer
    await reader.cancel().catch(() => undefined);
    release();
    const replay = await transport.reconnectToStream({ chatId: 'tc-2' });
    expect(replay).not.toBeNull();
    const message = await assemble(replay!);
    expect(texts(message)).toEqual([thoughtFor(prompt), answerFor(prompt, searchDocs(prompt))]);
    expect(await transport.reconnectToStream({ chatId: 'tc-2' })).toBeNull();
    expect(stack.emulator.stats.requests).toBe(2);
  });
});
