// Recipe: OpenAI through the real `openai` SDK, three ways: tokens for a page (chat completions and
// the Responses API), and an OpenAI-compatible relay of the chunks themselves.
// Run: npx tsx examples/openai.ts (a local fake answers; pass a baseURL to start() for a real one)
import { once } from 'node:events';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { openAIText } from 'ssekit';
import { sse } from 'ssekit/express';
import { startFakeLlm } from './fake-llm.js';

export function openAIApp(openai: OpenAI, model = 'gpt-4o-mini'): express.Express {
  const app = express();
  app.use(express.json());

  // Tokens for a page. `event: done` at the end lets an EventSource close instead of reconnecting
  // (which would run the prompt again). `json: true` is the stream toggle: `"stream": false` in the
  // body answers one JSON document, `{ "response": "…" }`, for clients that do not stream.
  app.post(
    '/chat',
    sse(
      (writer, req) => {
        const { prompt } = req.body as { prompt: string };
        return openai.chat.completions.create(
          { model, messages: [{ role: 'user', content: prompt }], stream: true },
          { signal: writer.signal }, // the client goes away → the request to OpenAI is aborted
        );
      },
      { map: openAIText, done: { event: 'done', data: '' }, json: true },
    ),
  );

  // The same with the Responses API, as a GET for `new EventSource('/responses?prompt=…')`.
  app.get(
    '/responses',
    sse(
      (writer, req) => {
        const { prompt = '' } = req.query as { prompt?: string };
        return openai.responses.create(
          { model, input: prompt, stream: true },
          { signal: writer.signal },
        );
      },
      { map: openAIText, done: { event: 'done', data: '' } },
    ),
  );

  // An OpenAI-compatible endpoint: the chunks themselves as JSON, ended by `data: [DONE]`, so any
  // OpenAI client (the SDK included) can use this server as its base URL.
  app.post(
    '/v1/chat/completions',
    sse(
      (writer, req) => {
        const { messages } = req.body as { messages: ChatCompletionMessageParam[] };
        return openai.chat.completions.create(
          { model, messages, stream: true },
          { signal: writer.signal },
        );
      },
      { done: { data: '[DONE]' } },
    ),
  );
  return app;
}

/** Starts the recipe on `port`; without `baseURL`, against a local fake of the OpenAI API. */
export async function start(port: number, baseURL?: string): Promise<Server> {
  const fake = baseURL === undefined ? await startFakeLlm() : undefined;
  const openai = new OpenAI({
    baseURL: baseURL ?? `${fake?.url}/v1`,
    apiKey: process.env['OPENAI_API_KEY'] ?? 'no-key-needed-by-the-fake',
  });
  const server = openAIApp(openai).listen(port, '127.0.0.1');
  server.once('close', () => void fake?.close());
  await once(server, 'listening');
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000).then(() => {
    console.log(
      `curl -N -X POST localhost:3000/chat -H 'content-type: application/json' -d '{"prompt":"Hi"}'`,
    );
    console.log('curl -N "localhost:3000/responses?prompt=Hi"');
  });
}
