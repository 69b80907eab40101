/**
 * The demo endpoints on Express 5, with `ssekit/express`.
 * @module
 */
import { createServer } from 'node:http';
import compression from 'compression';
import express, { type Request, type Response } from 'express';
import { resumeUIMessageStream, type SseOptions, uiMessageStreamHeaders } from 'ssekit';
import { sendSse, sse } from 'ssekit/express';
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

const promptFrom = (req: Request): string =>
  promptOf(req.method === 'GET' ? req.query.prompt : req.body);

/** Answers with a resumable reply: its status and `SSEKit-*` headers, then its events. */
async function sendReply(
  res: Response,
  reply: ResumeReply,
  options: SseOptions<unknown, Request>,
): Promise<void> {
  res.status(reply.status).set(reply.headers);
  if (reply.source === undefined) return void res.end();
  await sendSse(res, reply.source, options);
}

/** The demo as an Express app; its resumable chats live in `store`. */
export function createExpressApp(
  llm: Llm,
  store?: ResumeStore,
): express.Express & { close(): Promise<void> } {
  const app = express();
  // App-wide, as real apps mount it: the demo's `curl --compressed` lines show streams get through.
  app.use(compression());
  const chats = createChats(store);
  app.use(express.json());
  app.get('/', (_req, res) => void res.type(page.html.type).send(page.html.body));
  app.get('/app.js', (_req, res) => void res.type(page.script.type).send(page.script.body));
  app.get('/favicon.svg', (_req, res) => void res.type(page.icon.type).send(page.icon.body));
  app.get('/client.js', (_req, res) => void res.type(page.client.type).send(page.client.body));

  const chat = sse(
    (writer, req) => chatCompletion(llm, promptFrom(req), writer.signal),
    chatOptions,
  );
  const ask = sse((writer, req) => chatCompletion(llm, promptFrom(req), writer.signal), {
    ...chatOptions,
    json: true,
  });
  const raw = sse((writer, req) => chatCompletion(llm, promptFrom(req), writer.signal), rawOptions);
  const ndjson = sse(
    (writer, req) => chatCompletion(llm, promptFrom(req), writer.signal),
    ndjsonOptions,
  );
  const agentEvents = sse((writer, req) => agent(llm, promptFrom(req), writer), agentOptions);
  const relayed = sse((writer, req) => relay(llm, promptFrom(req), writer.signal), relayOptions);

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
  const sendUi = (res: Response, reply: ResumeReply): Promise<void> =>
    sendReply(res.set(uiMessageStreamHeaders), reply, uiChatStreamOptions);
  app.post('/api/ui-chat', (req, res, next) => {
    startUiChat(uiChats, llm, req.body)
      .then((reply) => sendUi(res, reply))
      .catch(next);
  });
  app.get('/api/ui-chat/:id/stream', (req, res, next) => {
    const cursor = cursorFrom(req.headers, req.url);
    resumeUIMessageStream(uiChats, req.params.id, { cursor, request: req })
      .then((reply) => sendUi(res, reply))
      .catch(next);
  });

  app.post('/api/chats/:id', (req, res, next) => {
    const generation = chatGeneration(llm, promptFrom(req));
    chats
      .start(req.params.id, generation, { ...chatStart, request: req })
      .then((reply) => sendReply(res, reply, chatsStartOptions))
      .catch(next);
  });
  app.get('/api/chats/:id/stream', (req, res, next) => {
    const cursor = cursorFrom(req.headers, req.url);
    chats
      .resume(req.params.id, { cursor, request: req })
      .then((reply) => sendReply(res, reply, chatsOptions))
      .catch(next);
  });
  app.post('/api/chats/:id/stop', (req, res, next) => {
    chats
      .stop(req.params.id)
      .then((stopped) => void res.json({ stopped }))
      .catch(next);
  });
  return Object.assign(app, {
    close: () => Promise.all([chats.close(), uiChats.close()]).then(() => {}),
  });
}

/** Starts the Express demo on 127.0.0.1 (`port` 0, or a taken port, picks a free one). */
export function startExpressDemo(llm: Llm, port = 0, store?: ResumeStore): Promise<DemoServer> {
  const app = createExpressApp(llm, store);
  return listen(createServer(app), port, () => app.close());
}
