/**
 * Server-Sent Events for Koa 2 and 3: a middleware factory, {@link sse}, and an inline form,
 * {@link sendSse}, both on the Node transport of `ssekit/node`. The frames are written to
 * `ctx.res` with `ctx.respond = false`, so `koa-compress`, `@koa/etag` and `koa-conditional-get`
 * never see a body to buffer, hash or replace with a 304. The same names and options as
 * `ssekit/express` and `ssekit/hono`.
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

// `ctx.request.body` is set by a body parser such as @koa/bodyparser.
const byBodyOrQuery = (ctx: Context): boolean =>
  streamRequested((ctx.request as { body?: unknown }).body, ctx.query['stream']);

async function respond<T>(
  ctx: Context,
  producer: Producer<T>,
  endpoint: Endpoint<T, Context>,
): Promise<void> {
  // Koa's status is 404 until set, and it cannot be set once the headers are out.
  ctx.status = 200;
  try {
    const { done } = await startResponse(ctx, ctx.res, producer, endpoint);
    ctx.respond = false;
    // Awaited, so upstream middleware (loggers, timers) sees the stream's end.
    await done;
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
 * The middleware resolves when the stream has ended.
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
 * when the stream has ended; rejects, with nothing written, if the producer failed before its
 * first frame, so the error reaches Koa's error path.
 *
 * @example Streaming an SDK's stream with @koa/router
 * ```ts
 * import { sendSse } from 'ssekit/koa';
 *
 * router.get('/complete', async (ctx) => {
 *   const stream = await openai.chat.completions.create({ model, messages, stream: true });
 *   await sendSse(ctx, stream, { map: (chunk) => chunk.choices[0]?.delta?.content });
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
