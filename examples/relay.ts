// Recipe: relay a provider's SSE stream (here an OpenAI-compatible API) through your server, as it
// is or turned into tokens; the client going away aborts the upstream request. And the client
// side: decode a stream into data-only JSON chunks up to `[DONE]`.
// Run: npx tsx examples/relay.ts
import { once } from 'node:events';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { type OpenAIChatChunk, openAIText, readSse, readSseData } from 'ssekit';
import { sse } from 'ssekit/express';
import { startFakeLlm } from './fake-llm.js';

export function relayApp(upstreamURL: string): express.Express {
  const app = express();
  const ask = (req: express.Request, signal: AbortSignal) =>
    fetch(`${upstreamURL}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: (req.query as { prompt?: string }).prompt ?? '' }],
        stream: true,
      }),
      signal, // the client goes away → the upstream request is aborted
    });

  // As it is: every upstream event (its data, name and id) re-emitted, `data: [DONE]` included.
  app.get(
    '/relay',
    sse(async (writer, req) => readSse(await ask(req, writer.signal))),
  );

  // Transformed: the chunks' JSON decoded up to `[DONE]`, re-emitted as tokens.
  app.get(
    '/tokens',
    sse(async (writer, req) => readSseData<OpenAIChatChunk>(await ask(req, writer.signal)), {
      map: openAIText,
      done: { event: 'done', data: '' },
    }),
  );
  return app;
}

/** The client: the chunks of an OpenAI-style stream, decoded, up to `[DONE]` (seed 001's consumer). */
export async function readChunks(url: string, signal?: AbortSignal): Promise<OpenAIChatChunk[]> {
  const chunks: OpenAIChatChunk[] = [];
  const response = await fetch(url, signal ? { signal } : {});
  for await (const chunk of readSseData<OpenAIChatChunk>(response)) chunks.push(chunk);
  return chunks;
}

/** Starts the recipe on `port`; without `upstreamURL`, relaying a local fake of the OpenAI API. */
export async function start(port: number, upstreamURL?: string): Promise<Server> {
  const fake = upstreamURL === undefined ? await startFakeLlm() : undefined;
  const server = relayApp(upstreamURL ?? fake?.url ?? '').listen(port, '127.0.0.1');
  server.once('close', () => void fake?.close());
  await once(server, 'listening');
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000).then(async () => {
    const chunks = await readChunks('http://127.0.0.1:3000/relay?prompt=Hi');
    console.log(chunks.map((chunk) => openAIText(chunk) ?? '').join(''));
    console.log('curl -N "localhost:3000/tokens?prompt=Hi"');
  });
}
