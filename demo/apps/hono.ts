/**
 * The demo endpoints on Hono with `@hono/node-server`, with `ssekit/hono`.
 * @module
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { compress } from 'hono/compress';
import { resumeUIMessageStream, type SseOptions, uiMessageStreamHeaders } from 'ssekit';
import { sendSse, sse } from 'ssekit/hono';
import { cursorFrom, type ResumeReply, type ResumeStore } from 'ssekit/resume';
import {
  chatGeneration,
  chatsOptions,
  chatsStartOptions,
  chatStart,
  createChats,
} from '../chats.js';
import {
  agent,
  agentOptions,
  chatCompletion,
  chatOptions,
  ndjsonOptions,
  promptOf,
  rawOptions,
  relay,
  relayOptions,
} from '../endpoints.js';
import type { Llm } from '../llm.js';
import { createUiChats, startUiChat, uiChatStreamOptions } from '../ui-chat.js';
import { type DemoServer, listen, page } from '../serve.js';

const promptFrom = async (c: Context): Promise<string> =>
  promptOf(c.req.method === 'GET' ? c.req.query('prompt') : await c.req.json<unknown>());

/** Answers with a resumable reply: its status and `SSEKit-*` headers, then its events. */
function sendReply(
  c: Context,
  reply: ResumeReply,
  options: SseOptions<unknown, Context>,
): Response | Promise<Response> {
  for (const [name, value] of Object.entries(reply.headers)) c.header(name, value);
  if (reply.source === undefined) return c.body(null, reply.status);
  return sendSse(c, reply.source, options);
}

/** The demo as a Hono app; its resumable chats live in `store`. */
export function createHonoApp(llm: Llm, store?: ResumeStore): Hono & { close(): Promise<void> } {
  const app = new Hono();
  // App-wide, as real apps mount it: the demo's `curl --compressed` lines show streams get through.
  app.use(compress());
  const chats = createChats(store);
  app.get('/', (c) => c.body(page.html.body, 200, { 'content-type': page.html.type }));
  app.get('/app.js', (c) => c.body(page.script.body, 200, { 'content-type': page.script.type }));
  app.get('/favicon.svg', (c) => c.body(page.icon.body, 200, { 'content-type': page.icon.type }));
  app.get('/client.js', (c) => c.body(page.client.body, 200, { 'content-type': page.client.type }));

  const chat = sse(
    async (writer, c) => chatCompletion(llm, await promptFrom(c), writer.signal),
    chatOptions,
  );
  const ask = sse(async (writer, c) => chatCompletion(llm, await promptFrom(c), writer.signal), {
    ...chatOptions,
    json: true,
  });
  const raw = sse(
    async (writer, c) => chatCompletion(llm, await promptFrom(c), writer.signal),
    rawOptions,
  );
  const ndjson = sse(
    async (writer, c) => chatCompletion(llm, await promptFrom(c), writer.signal),
    ndjsonOptions,
  );
  const agentEvents = sse(
    async (writer, c) => agent(llm, await promptFrom(c), writer),
    agentOptions,
  );
  const relayed = sse(
    async (writer, c) => relay(llm, await promptFrom(c), writer.signal),
    relayOptions,
  );

  for (const [path, handler] of [
    ['/api/chat', chat],
    ['/api/ask', ask],
    ['/api/raw', raw],
    ['/api/ndjson', ndjson],
    ['/api/agent', agentEvents],
    ['/api/relay', relayed],
  ] as const) {
    app.get(path, handler);
    app.post(path, handler);
  }
  // The AI SDK's chat endpoint (`useChat`): its protocol header, then the UI message stream, as
  // a resumable generation that `GET /api/ui-chat/:id/stream` replays (or answers 204).
  const uiChats = createUiChats(chats.store);
  const sendUi = (c: Context, reply: ResumeReply): Response | Promise<Response> => {
    for (const [name, value] of Object.entries(uiMessageStreamHeaders)) c.header(name, value);
    return sendReply(c, reply, uiChatStreamOptions);
  };
  app.post('/api/ui-chat', async (c) =>
    sendUi(c, await startUiChat(uiChats, llm, await c.req.json())),
  );
  app.get('/api/ui-chat/:id/stream', async (c) => {
    const cursor = cursorFrom(c.req.raw.headers, c.req.url);
    const reply = await resumeUIMessageStream(uiChats, c.req.param('id'), { cursor, request: c });
    return sendUi(c, reply);
  });

  app.post('/api/chats/:id', async (c) => {
    const generation = chatGeneration(llm, await promptFrom(c));
    const reply = await chats.start(c.req.param('id'), generation, { ...chatStart, request: c });
    return sendReply(c, reply, chatsStartOptions);
  });
  app.get('/api/chats/:id/stream', async (c) => {
    const cursor = cursorFrom(c.req.raw.headers, c.req.url);
    const reply = await chats.resume(c.req.param('id'), { cursor, request: c });
    return sendReply(c, reply, chatsOptions);
  });
  app.post('/api/chats/:id/stop', async (c) =>
    c.json({ stopped: await chats.stop(c.req.param('id')) }),
  );
  return Object.assign(app, {
    close: () => Promise.all([chats.close(), uiChats.close()]).then(() => {}),
  });
}

/** Starts the Hono demo on 127.0.0.1 (`port` 0, or a taken port, picks a free one). */
export function startHonoDemo(llm: Llm, port = 0, store?: ResumeStore): Promise<DemoServer> {
  const app = createHonoApp(llm, store);
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  return listen(server, port, () => app.close());
}
