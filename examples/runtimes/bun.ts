// ssekit on Bun: `bun run examples/runtimes/bun.ts` (port 3000, or PORT).
import { Hono } from 'hono';
import { toSseResponse } from 'ssekit';
import { sse } from 'ssekit/hono';

/** A stand-in for a model: the answer's words, one every 10 ms, until the signal aborts. */
async function* answer(prompt: string, signal: AbortSignal) {
  for (const word of `You said: ${prompt}`.split(/(?= )/)) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (signal.aborted) return;
    yield word;
  }
}

const app = new Hono();
// The core: any fetch handler can return toSseResponse(…); the request's signal stops the model,
// and `open` sends the headers at once (Bun holds them until the body's first bytes).
app.get('/stream', (c) => {
  const { signal } = c.req.raw;
  return toSseResponse(answer(c.req.query('prompt') ?? '', signal), {
    signal,
    open: true,
    done: { data: '[DONE]' },
  });
});
// ssekit/hono: the same, and ?stream=false answers one JSON document instead.
app.get(
  '/chat',
  sse((writer, c) => answer(c.req.query('prompt') ?? '', writer.signal), {
    done: { data: '[DONE]' },
    json: true,
  }),
);

/** What Bun passes as `fetch`'s second argument (`Server` in bun-types). */
interface BunServer {
  timeout(request: Request, seconds: number): void;
}

export default {
  port: Number(process.env.PORT ?? 3000),
  fetch(request: Request, server: BunServer) {
    // Bun's idleTimeout (10 s by default) cuts a stream that stays quiet longer, and a short
    // one cuts it even while heartbeats flow: turn it off for a stream's request.
    server.timeout(request, 0);
    return app.fetch(request);
  },
};
