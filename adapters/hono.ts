/**
 * Server-Sent Events for Hono 4: a handler factory, {@link sse}, and an inline form,
 * {@link sendSse}. On `@hono/node-server` the frames are written straight to the Node response
 * through `ssekit/node`, past `etag()` (which hashes a whole body first) and `compress()`; other
 * runtimes get a `Response` with a web stream. The same names and options as `ssekit/express`
 * and `ssekit/koa`.
 * @module ssekit/hono
 */
import type { Context } from 'hono';
import {
  admit,
  type Endpoint,
  type Handler,
  isRefusal,
  type Producer,
  resolveEndpoint,
  type SseOptions,
  type StreamOptions,
  refusalHeaders,
  streamRequested,
  toSseResponse,
} from '../src/index.js';
import { isClientGone, type NodeResponse, startResponse } from '../src/node.js';

async function byBodyOrQuery(c: Context): Promise<boolean> {
  // Hono caches the parsed body, so the handler can still call `c.req.json()`.
  const json = /json/i.test(c.req.header('content-type') ?? '');
  const body: unknown = json ? await c.req.json().catch(() => undefined) : undefined;
  return streamRequested(body, c.req.query('stream'));
}

/** The Node response `@hono/node-server` puts in `c.env.outgoing`; `undefined` elsewhere. */
function nodeResponse(c: Context): NodeResponse | undefined {
  const outgoing = (c.env as { outgoing?: NodeResponse } | undefined)?.outgoing;
  return typeof outgoing?.setHeader === 'function' ? outgoing : undefined;
}

/** Hands the Node response the headers middleware set before the handler (CORS, cookies). */
function adoptHeaders(c: Context, res: NodeResponse): void {
  for (const [name, value] of c.res.headers) if (name !== 'set-cookie') res.setHeader(name, value);
  const cookies = c.res.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
}

/**
 * What @hono/node-server's `RESPONSE_ALREADY_SENT` is (checked in v2.1.9): a bodiless response
 * marked `x-hono-already-sent`, which the server then leaves alone. Made here so ssekit/hono
 * needs no @hono/node-server at runtime. Reading `body` turns node-server's light global
 * `Response` into a real one, whose fast path (v2.1.9) would write headers without checking the
 * mark (ERR_HTTP_HEADERS_SENT on an app without middleware).
 */
function alreadySent(): Response {
  const response = new Response(null, { headers: { 'x-hono-already-sent': 'true' } });
  void response.body;
  return response;
}

async function respond<T>(
  c: Context,
  producer: Producer<T>,
  endpoint: Endpoint<T, Context>,
  options: StreamOptions<T>, // for toSseResponse, which resolves them again (`json` is ignored)
): Promise<Response> {
  const res = nodeResponse(c);
  try {
    if (res) {
      adoptHeaders(c, res);
      await startResponse(c, res, producer, endpoint);
      return alreadySent();
    }
    const { config, toggle, limiter } = endpoint;
    const admission = admit(c, limiter, null);
    if (isRefusal(admission)) {
      const { body, headers } = refusalHeaders(admission);
      return c.body(body, admission.status, headers);
    }
    if (toggle && !(await toggle.stream(c))) {
      try {
        const document = await toggle.collect(producer, c, config, c.req.raw.signal);
        return c.body(document.body, 200, document.headers);
      } finally {
        admission?.();
      }
    }
    // The limiter's slot is given back when the stream ends, however it ends.
    const { lifecycle } = options;
    const release = admission && { onEnd: admission };
    const hooks = release ? [...(lifecycle ? [lifecycle].flat() : []), release] : lifecycle;
    return await toSseResponse(producer, {
      ...options,
      lifecycle: hooks,
      signal: c.req.raw.signal,
    });
  } catch (error) {
    // A client that left before anything was sent needs no error response.
    if (isClientGone(error) || c.req.raw.signal.aborted) {
      return res ? alreadySent() : new Response(null, { status: 499 });
    }
    throw error; // to app.onError
  }
}

/**
 * Makes a Hono handler that streams what `handler` produces. Options are resolved once, here. A
 * handler that fails before its first frame is thrown to `app.onError`; later failures end the
 * stream with the endpoint's error event.
 *
 * @example A chat endpoint with the stream toggle
 * ```ts
 * import { Hono } from 'hono';
 * import { sse } from 'ssekit/hono';
 *
 * const app = new Hono();
 * app.post(
 *   '/chat',
 *   sse(
 *     async (writer, c) => {
 *       const { prompt } = await c.req.json<{ prompt: string }>();
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
): (c: Context) => Promise<Response> {
  const endpoint = resolveEndpoint(options, byBodyOrQuery);
  return function sseHandler(c) {
    return respond(c, (writer) => handler(writer, c), endpoint, options);
  };
}

/**
 * Streams a producer as the answer to a Hono request, from inside an existing handler: return
 * what it resolves to. Rejects, with nothing written, if the producer failed before its first
 * frame, so the error reaches `app.onError`.
 *
 * @example Streaming an SDK's stream
 * ```ts
 * import { sendSse } from 'ssekit/hono';
 *
 * app.get('/complete', async (c) => {
 *   const stream = await openai.chat.completions.create({ model, messages, stream: true });
 *   return sendSse(c, stream, { map: (chunk) => chunk.choices[0]?.delta?.content });
 * });
 * ```
 */
export function sendSse<T>(
  c: Context,
  producer: Producer<T>,
  options: SseOptions<T, Context> = {},
): Promise<Response> {
  return respond(c, producer, resolveEndpoint(options, byBodyOrQuery), options);
}
