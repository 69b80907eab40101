// ssekit on Cloudflare Workers: `wrangler dev examples/runtimes/worker.ts`. Add
// `compatibility_flags = ["enable_request_signal"]` to wrangler.toml: without it request.signal
// never aborts, and a producer is never told that its client left (docs/runtimes/workers.md).
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

export default app;
