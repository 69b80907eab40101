/**
 * Server-Sent Events for Fastify 5: a route-handler factory, {@link sse}, and an inline form,
 * {@link sendSse}, both on the Node transport of `ssekit/node`. The frames are written to
 * `reply.raw` and the reply is hijacked once the stream has started, so `onSend` hooks
 * (`@fastify/compress`, `@fastify/etag`) never see a body to buffer, hash or replace with a 304,
 * while `onRequest`/`preHandler` hooks, the request logger and `onResponse` (when the stream
 * ends; a client abort runs `onRequestAbort` instead) still run. HTTP/1.1 and HTTP/2 instances
 * alike. The same names and options as `ssekit/express`, `ssekit/koa` and `ssekit/hono`.
 * @module ssekit/fastify
 */
import type {
  FastifyReply,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerBase,
  RawServerDefault,
  RouteGenericInterface,
} from 'fastify';
import {
  type Endpoint,
  type Handler,
  type Producer,
  resolveEndpoint,
  type SseOptions,
  streamRequested,
} from '../src/index.js';
import { isClientGone, type NodeResponse, startResponse } from '../src/node.js';

/**
 * The request of a route with generics `G` on a Fastify server `S` (HTTP/1.1 or HTTP/2): what
 * {@link sse} handlers and the `json` toggle's rule receive.
 *
 * @example Typing a toggle rule outside the route
 * ```ts
 * import type { RouteRequest } from 'ssekit/fastify';
 *
 * const wantsStream = (request: RouteRequest<{ Querystring: { mode?: string } }>) =>
 *   request.query.mode !== 'json';
 * ```
 */
export type RouteRequest<
  G extends RouteGenericInterface = RouteGenericInterface,
  S extends RawServerBase = RawServerDefault,
> = FastifyRequest<G, S, RawRequestDefaultExpression<S>>;

/**
 * The reply of a route with generics `G` on a Fastify server `S` (HTTP/1.1 or HTTP/2): what
 * {@link sendSse} takes.
 *
 * @example A helper that streams on any route's reply
 * ```ts
 * import { type RouteReply, sendSse } from 'ssekit/fastify';
 *
 * const streamTokens = (reply: RouteReply, tokens: AsyncIterable<string>) =>
 *   sendSse(reply, tokens, { done: { data: '[DONE]' } });
 * ```
 */
export type RouteReply<
  G extends RouteGenericInterface = RouteGenericInterface,
  S extends RawServerBase = RawServerDefault,
> = FastifyReply<G, S, RawRequestDefaultExpression<S>, RawReplyDefaultExpression<S>>;

/** What the adapter uses of a reply, whatever the route's types. */
interface AnyReply {
  readonly raw: NodeResponse;
  getHeaders(): Record<string, number | string | string[] | undefined>;
  hijack(): unknown;
}

// Fastify parses JSON bodies itself; its query parser makes a repeated `stream` an array, which
// says nothing.
const byBodyOrQuery = (request: { body: unknown; query: unknown }): boolean =>
  streamRequested(request.body, (request.query as { stream?: unknown } | undefined)?.stream);

async function respond<T, R>(
  request: R,
  reply: AnyReply,
  producer: Producer<T>,
  endpoint: Endpoint<T, R>,
  untilEnd: boolean,
): Promise<void> {
  const res = reply.raw;
  // Fastify holds what `reply.header()` set (hooks, @fastify/cors) until it sends, which it
  // will not do for a stream: the headers go onto the Node response here. A failure before the
  // first frame takes them back, so Fastify's error handler starts from its own.
  const adopted: string[] = [];
  for (const [name, value] of Object.entries(reply.getHeaders())) {
    if (value === undefined) continue;
    if (!res.hasHeader(name)) adopted.push(name);
    res.setHeader(name, value);
  }
  let started: Awaited<ReturnType<typeof startResponse>>;
  try {
    started = await startResponse(request, res, producer, endpoint);
  } catch (error) {
    // A client that left before anything was sent needs no error response.
    if (isClientGone(error)) return void reply.hijack();
    for (const name of adopted) res.removeHeader(name);
    throw error; // to Fastify's error handler
  }
  // Fastify must not send too (no reply.send() when the handler resolves, no onSend hooks), and
  // its handlerTimeout no longer applies: the stream lasts until it ends or the client leaves.
  reply.hijack();
  // A hijacked reply's hooks (onResponse) follow the response, not the handler: the route
  // handler need not hold a suspended function for as long as the stream lives
  // (bench/RESULTS.md, idle memory); `sendSse` is documented to resolve at the end.
  if (untilEnd) await started.done;
}

/**
 * Makes a Fastify route handler that streams what `handler` produces. Options are resolved once,
 * here. A handler that fails before its first frame is thrown to Fastify's error handler
 * (`setErrorHandler`, and `onError` hooks); later failures end the stream with the endpoint's
 * error event. The route handler resolves once the stream has started (Fastify's `onResponse`
 * hooks still run when it ends).
 *
 * @example A chat endpoint with the stream toggle
 * ```ts
 * import Fastify from 'fastify';
 * import { sse } from 'ssekit/fastify';
 *
 * const app = Fastify({ logger: true });
 * app.post<{ Body: { prompt: string } }>(
 *   '/chat',
 *   sse(
 *     async (writer, request) => {
 *       // `request.body` is typed by the route's generics.
 *       const tokens = llm(request.body.prompt, { signal: writer.signal });
 *       for await (const token of tokens) await writer.send(token);
 *     },
 *     { done: { data: '[DONE]' }, json: true },
 *   ),
 * );
 * ```
 */
export function sse<
  T,
  G extends RouteGenericInterface = RouteGenericInterface,
  S extends RawServerBase = RawServerDefault,
>(
  handler: Handler<T, [RouteRequest<G, S>, RouteReply<G, S>]>,
  options: SseOptions<T, RouteRequest<G, S>> = {},
): (request: RouteRequest<G, S>, reply: RouteReply<G, S>) => Promise<void> {
  const endpoint = resolveEndpoint<T, RouteRequest<G, S>>(options, byBodyOrQuery);
  return function sseHandler(request, reply) {
    return respond(request, reply, (writer) => handler(writer, request, reply), endpoint, false);
  };
}

/**
 * Streams a producer as the answer to a Fastify request, from inside an existing route handler.
 * Resolves when the stream has ended; rejects, with nothing written, if the producer failed
 * before its first frame, so the error reaches Fastify's error handler.
 *
 * @example Streaming an SDK's stream
 * ```ts
 * import { openAIText } from 'ssekit';
 * import { sendSse } from 'ssekit/fastify';
 *
 * app.get('/complete', async (request, reply) => {
 *   const stream = await openai.chat.completions.create({ model, messages, stream: true });
 *   await sendSse(reply, stream, { map: openAIText });
 * });
 * ```
 */
export function sendSse<
  T,
  G extends RouteGenericInterface = RouteGenericInterface,
  S extends RawServerBase = RawServerDefault,
>(
  reply: RouteReply<G, S>,
  producer: Producer<T>,
  options: SseOptions<T, RouteRequest<G, S>> = {},
): Promise<void> {
  const endpoint = resolveEndpoint<T, RouteRequest<G, S>>(options, byBodyOrQuery);
  return respond(reply.request, reply, producer, endpoint, true);
}
