/**
 * The demo endpoints on Hono with `@hono/node-server`, with `ssekit/hono`.
 * @module
 */
import type { Server } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { uiMessageStreamHeaders } from 'ssekit';
import { sse } from 'ssekit/hono';
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
  uiChat,
  uiChatOptions,
  uiPromptOf,
} from '../endpoints.js';
import type { Llm } from '../llm.js';
import { type DemoServer, listen, page } from '../serve.js';

const promptFrom = async (c: Context): Promise<string> =>
  promptOf(c.req.method === 'GET' ? c.req.query('prompt') : await c.req.json<unknown>());

/** The demo as a Hono app. */
export function createHonoApp(llm: Llm): Hono {
  const app = new Hono();
  app.get('/', (c) => c.body(page.html.body, 200, { 'content-type': page.html.type }));
  app.get('/app.js', (c) => c.body(page.script.body, 200, { 'content-type': page.script.type }));

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
  // The AI SDK's chat endpoint (`useChat`): its protocol header, then the UI message stream.
  app.post(
    '/api/ui-chat',
    async (c, next) => {
      for (const [name, value] of Object.entries(uiMessageStreamHeaders)) c.header(name, value);
      await next();
    },
    sse(
      async (writer, c) => uiChat(llm, uiPromptOf(await c.req.json()), writer.signal),
      uiChatOptions,
    ),
  );
  return app;
}

/** Starts the Hono demo on 127.0.0.1 (`port` 0, or a taken port, picks a free one). */
export function startHonoDemo(llm: Llm, port = 0): Promise<DemoServer> {
  const server = createAdaptorServer({ fetch: createHonoApp(llm).fetch }) as Server;
  return listen(server, port);
}
