/**
 * Server-Sent Events for Koa 2 and 3: a middleware factory, {@link sse}, and an inline form,
 * {@link sendSse}, both on the Node transport of `ssekit/node`. The frames are written to
 * `ctx.res` with `ctx.respond = false`, so `koa-compress`, `@koa/etag` and `koa-conditional-get`
 * never see a body to buffer, hash or replace with a 304. The middleware returns as soon as the
 * stream has started, as a Koa middleware that sets a stream body does, and the response is
 * committed once the middleware chain has returned: headers that upstream middleware sets after
 * `await next()` (koa-response-time, security headers) are on the stream. The same names and
 * options as `ssekit/express` and `ssekit/hono`.
 * @module ssekit/koa
 */
import type { Context, Next } from 'koa';
import {
  type Endpoint,
  type Handler,
  type Producer,
  resolveEndpoint,
  type SseOptions,
  streamRequested,
} from '../src/index.js';
import { isClientGone, startResponse } from '../src/node.js';

// `ctx.request.body` is set by a body parser such as @koa/bodyparser; `ctx.query.stream` is an
// array when the parameter is repeated, which says nothing.
const byBodyOrQuery = (ctx: Context): boolean =>
  streamRequested((ctx.request as { body?: unknown }).body, ctx.query['stream']);

// What a socket reports when the client resets the connection (an EventSource closed, a tab shut)
// while frames are in flight.
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/**
 * Keeps a client's reset of a running stream out of Koa's error path. Koa hands every error of the
 * response's socket to `ctx.onerror` (through `on-finished`, v2 and v3), which emits it on the app
 * and logs its stack by default; a client leaving a stream is no error (the producer is aborted,
 * and `onError` is not called for it either). Any other error still reaches `app.on('error')`.
 */
function ignoreResets(ctx: Context): void {
  const onerror = ctx.onerror.bind(ctx);
  ctx.onerror = function onStreamError(error: Error) {
    const code = (error as { code?: unknown } | null | undefined)?.code;
    if (typeof code === 'string' && RESETS.has(code) && ctx.req.socket.destroyed) return;
    onerror(error);
  };
}

async function respond<T>(
  ctx: Context,
  producer: Producer<T>,
  endpoint: Endpoint<T, Context>,
): Promise<void> {
  // Koa's status is 404 until set, and it cannot be set once the headers are out.
  ctx.status = 200;
  try {
    // Resolves once the producer has started; the response commits once Koa's chain has returned.
    // Except when koa-conditional-get would then answer 304 (`If-None-Match: *` on a GET makes
    // `ctx.fresh` true for any 200): its `ctx.body = null` would remove the Transfer-Encoding
    // (Node then frames no chunks). Such a stream commits at once, as the chain unwinds after it.
    const hold = ctx.fresh ? Promise.resolve() : undefined;
    await startResponse(ctx, ctx.res, producer, endpoint, { hold });
    ctx.respond = false;
    ignoreResets(ctx);
  } catch (error) {
    // A client that left before anything was sent needs no error response.
    if (!isClientGone(error)) throw error; // to Koa's error path
    ctx.respond = false;
  }
}

/**
 * Makes a Koa middleware that streams what `handler` produces. Options are resolved once, here. A
 * handler that fails before its first frame is thrown into Koa's error path (the app's `error`
 * event and its error status); later failures end the stream with the endpoint's error event.
 * The middleware resolves once the stream has started (a logger that waits for the response's
 * `finish` or `close`, as koa-logger does, still sees its end).
 *
 * @example A chat endpoint with the stream toggle
 * ```ts
 * import Koa from 'koa';
 * import { bodyParser } from '@koa/bodyparser';
 * import { sse } from 'ssekit/koa';
 *
 * const app = new Koa();
 * app.use(bodyParser());
 * app.use(
 *   sse(
 *     async (writer, ctx) => {
 *       const { prompt } = ctx.request.body as { prompt: string };
 *       for await (const token of llm(prompt, { signal: writer.signal })) await writer.send(token);
 *     },
 *     { done: { data: '[DONE]' }, json: true },
 *   ),
 * );
 * ```
 */
export function sse<T>(
  handler: Handler<T, [Context]>,
  options: SseOptions<T, Context> = {},
): (ctx: Context, next?: Next) => Promise<void> {
  const endpoint = resolveEndpoint(options, byBodyOrQuery);
  // A terminal middleware: `next` is never called.
  return function sseMiddleware(ctx) {
    return respond(ctx, (writer) => handler(writer, ctx), endpoint);
  };
}

/**
 * Streams a producer as the answer to a Koa request, from inside an existing middleware. Resolves
 * once the stream has started (the response commits when Koa's middleware chain has returned);
 * rejects, with nothing written, if the producer failed before its first frame, so the error
 * reaches Koa's error path.
 *
 * @example Streaming an SDK's stream with @koa/router
 * ```ts
 * import { openAIText } from 'ssekit';
 * import { sendSse } from 'ssekit/koa';
 *
 * router.get('/complete', async (ctx) => {
 *   const stream = await openai.chat.completions.create({ model, messages, stream: true });
 *   await sendSse(ctx, stream, { map: openAIText });
 * });
 * ```
 */
export function sendSse<T>(
  ctx: Context,
  producer: Producer<T>,
  options: SseOptions<T, Context> = {},
): Promise<void> {
  return respond(ctx, producer, resolveEndpoint(options, byBodyOrQuery));
}
