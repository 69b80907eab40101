/**
 * The demo endpoints on Koa 3 with `@koa/router` and `@koa/bodyparser`, with `ssekit/koa`.
 * @module
 */
import { createServer } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import compress from 'koa-compress';
import { resumeUIMessageStream, type SseOptions, uiMessageStreamHeaders } from 'ssekit';
import { sendSse, sse } from 'ssekit/koa';
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

const promptFrom = (ctx: Context): string =>
  promptOf(ctx.method === 'GET' ? ctx.query.prompt : ctx.request.body);

/** Answers with a resumable reply: its status and `SSEKit-*` headers, then its events. */
async function sendReply(
  ctx: Context,
  reply: ResumeReply,
  options: SseOptions<unknown, Context>,
): Promise<void> {
  ctx.set(reply.headers);
  if (reply.source === undefined) {
    ctx.status = reply.status;
    return;
  }
  await sendSse(ctx, reply.source, options);
}

/** The demo as a Koa app; its resumable chats live in `store`. */
export function createKoaApp(llm: Llm, store?: ResumeStore): Koa & { close(): Promise<void> } {
  const app = new Koa();
  const router = new Router();
  const chats = createChats(store);
  router.get('/', (ctx) => {
    ctx.type = page.html.type;
    ctx.body = page.html.body;
  });
  router.get('/app.js', (ctx) => {
    ctx.type = page.script.type;
    ctx.body = page.script.body;
  });
  router.get('/favicon.svg', (ctx) => {
    ctx.type = page.icon.type;
    ctx.body = page.icon.body;
  });
  router.get('/client.js', (ctx) => {
    ctx.type = page.client.type;
    ctx.body = page.client.body;
  });

  const chat = sse(
    (writer, ctx) => chatCompletion(llm, promptFrom(ctx), writer.signal),
    chatOptions,
  );
  const ask = sse((writer, ctx) => chatCompletion(llm, promptFrom(ctx), writer.signal), {
    ...chatOptions,
    json: true,
  });
  const raw = sse((writer, ctx) => chatCompletion(llm, promptFrom(ctx), writer.signal), rawOptions);
  const ndjson = sse(
    (writer, ctx) => chatCompletion(llm, promptFrom(ctx), writer.signal),
    ndjsonOptions,
  );
  const agentEvents = sse((writer, ctx) => agent(llm, promptFrom(ctx), writer), agentOptions);
  const relayed = sse((writer, ctx) => relay(llm, promptFrom(ctx), writer.signal), relayOptions);

  for (const [path, handler] of [
    ['/api/chat', chat],
    ['/api/ask', ask],
    ['/api/raw', raw],
    ['/api/ndjson', ndjson],
    ['/api/agent', agentEvents],
    ['/api/relay', relayed],
  ] as const) {
    router.get(path, handler);
    router.post(path, handler);
  }
  // App-wide, as real apps mount it: the demo's `curl --compressed` lines show streams get through.
  app.use(compress());
  // The AI SDK's chat endpoint (`useChat`): its protocol header, then the UI message stream, as
  // a resumable generation that `GET /api/ui-chat/:id/stream` replays (or answers 204).
  const uiChats = createUiChats(chats.store);
  const sendUi = (ctx: Context, reply: ResumeReply): Promise<void> => {
    ctx.set(uiMessageStreamHeaders);
    return sendReply(ctx, reply, uiChatStreamOptions);
  };
  router.post('/api/ui-chat', async (ctx) => {
    await sendUi(ctx, await startUiChat(uiChats, llm, ctx.request.body));
  });
  router.get('/api/ui-chat/:id/stream', async (ctx) => {
    const cursor = cursorFrom(ctx.req.headers, ctx.url);
    const id = ctx.params.id as string;
    await sendUi(ctx, await resumeUIMessageStream(uiChats, id, { cursor, request: ctx }));
  });

  router.post('/api/chats/:id', async (ctx) => {
    const generation = chatGeneration(llm, promptFrom(ctx));
    const reply = await chats.start(ctx.params.id as string, generation, {
      ...chatStart,
      request: ctx,
    });
    await sendReply(ctx, reply, chatsStartOptions);
  });
  router.get('/api/chats/:id/stream', async (ctx) => {
    const cursor = cursorFrom(ctx.req.headers, ctx.url);
    const reply = await chats.resume(ctx.params.id as string, { cursor, request: ctx });
    await sendReply(ctx, reply, chatsOptions);
  });
  router.post('/api/chats/:id/stop', async (ctx) => {
    ctx.body = { stopped: await chats.stop(ctx.params.id as string) };
  });
  app.use(bodyParser());
  app.use(router.routes());
  app.use(router.allowedMethods());
  return Object.assign(app, {
    close: () => Promise.all([chats.close(), uiChats.close()]).then(() => {}),
  });
}

/** Starts the Koa demo on 127.0.0.1 (`port` 0, or a taken port, picks a free one). */
export function startKoaDemo(llm: Llm, port = 0, store?: ResumeStore): Promise<DemoServer> {
  const app = createKoaApp(llm, store);
  return listen(createServer(app.callback()), port, () => app.close());
}
