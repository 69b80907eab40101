/**
 * The demo endpoints on Express 5, with `ssekit/express`.
 * @module
 */
import { createServer } from 'node:http';
import express, { type Request } from 'express';
import { uiMessageStreamHeaders } from 'ssekit';
import { sse } from 'ssekit/express';
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

const promptFrom = (req: Request): string =>
  promptOf(req.method === 'GET' ? req.query.prompt : req.body);

/** The demo as an Express app. */
export function createExpressApp(llm: Llm): express.Express {
  const app = express();
  app.use(express.json());
  app.get('/', (_req, res) => void res.type(page.html.type).send(page.html.body));
  app.get('/app.js', (_req, res) => void res.type(page.script.type).send(page.script.body));

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
  // The AI SDK's chat endpoint (`useChat`): its protocol header, then the UI message stream.
  app.post(
    '/api/ui-chat',
    (_req, res, next) => {
      res.set(uiMessageStreamHeaders);
      next();
    },
    sse((writer, req) => uiChat(llm, uiPromptOf(req.body), writer.signal), uiChatOptions),
  );
  return app;
}

/** Starts the Express demo on 127.0.0.1 (`port` 0, or a taken port, picks a free one). */
export function startExpressDemo(llm: Llm, port = 0): Promise<DemoServer> {
  return listen(createServer(createExpressApp(llm)), port);
}
