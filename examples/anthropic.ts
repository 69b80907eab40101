// Recipe: an Anthropic Messages stream → tokens. With `@anthropic-ai/sdk`, return
// `client.messages.create({ …, stream: true }, { signal: writer.signal })` with the same `map`;
// here the stream is read with fetch, so the recipe needs no SDK, no key and no network.
// Run: npx tsx examples/anthropic.ts
import { once } from 'node:events';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { anthropicText, type AnthropicStreamEvent, readSseData } from 'ssekit';
import { sse } from 'ssekit/express';
import { startFakeLlm } from './fake-llm.js';

export function anthropicApp(apiURL: string, apiKey: string): express.Express {
  const app = express();
  app.get(
    '/chat',
    sse(
      async (writer, req) => {
        const { prompt = '' } = req.query as { prompt?: string };
        const upstream = await fetch(`${apiURL}/v1/messages`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-api-key': apiKey,
            'anthropic-version': '2023-06-01',
          },
          body: JSON.stringify({
            model: 'claude-sonnet-4-5',
            max_tokens: 1024,
            messages: [{ role: 'user', content: prompt }],
            stream: true,
          }),
          signal: writer.signal, // the client goes away → the request to Anthropic is aborted
        });
        // Anthropic's stream has no `[DONE]`: it ends with `message_stop` and the end of the body.
        return readSseData<AnthropicStreamEvent>(upstream, { done: false });
      },
      { map: anthropicText, done: { event: 'done', data: '' } },
    ),
  );
  return app;
}

/** Starts the recipe on `port`; without `apiURL`, against a local fake of the Anthropic API. */
export async function start(port: number, apiURL?: string): Promise<Server> {
  const fake = apiURL === undefined ? await startFakeLlm() : undefined;
  const app = anthropicApp(apiURL ?? fake?.url ?? '', process.env['ANTHROPIC_API_KEY'] ?? 'none');
  const server = app.listen(port, '127.0.0.1');
  server.once('close', () => void fake?.close());
  await once(server, 'listening');
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000).then(() => console.log('curl -N "localhost:3000/chat?prompt=Sing"'));
}
