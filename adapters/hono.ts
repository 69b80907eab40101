/**
 * Server-Sent Events for Hono 4: a handler factory, {@link sse}, and an inline form,
 * {@link sendSse}. The same names and options as `ssekit/express` and `ssekit/koa`.
 *
 * On `@hono/node-server` the frames are written straight to the Node response through
 * `ssekit/node`, past `etag()` (which hashes a whole body first) and `compress()`; the response
 * is committed once the middleware chain has returned, with every header the middleware set
 * before or after `await next()` (`secureHeaders()`, `timing()`, `cors()`), except
 * `Content-Length`, `ETag`, `Last-Modified` and `Content-Encoding`.
 *
 * Other runtimes (Bun, Deno, Workers, `app.request()`) get a `Response` with a web stream and a
 * weak `ETag` unique to the response, so that `etag()` passes it through at once instead of
 * hashing a body that has not ended; `etag()` then answers `If-None-Match: *` with `304`, as it
 * does for any `GET` `200` (mount it so that it skips stream routes: docs/recipes.md).
 *
 * The stream toggle's default rule reads a JSON body of at most {@link TOGGLE_BODY_LIMIT} bytes
 * (1 MiB): a larger one is refused with `413`, one that is not JSON with `400`, through
 * `app.onError`.
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
  SseError,
  type SseErrorCode,
  type SseOptions,
  type StreamOptions,
  refusalHeaders,
  streamRequested,
  toSseResponse,
} from '../src/index.js';
import { isClientGone, type NodeResponse, startResponse } from '../src/node.js';

/**
 * The largest request body, in bytes, that the stream toggle's default rule reads to find its
 * `stream` field: 1 MiB, as @koa/bodyparser's default `jsonLimit`. A larger one is refused with
 * `413` (an {@link SseError} `BODY_TOO_LARGE` with `status: 413`, which Hono's default error
 * handler answers with) before more than that is read. For larger bodies, give `json.stream` a
 * rule of your own.
 *
 * @example A rule of your own for bodies up to 10 MiB
 * ```ts
 * import { bodyLimit } from 'hono/body-limit';
 * import { streamRequested } from 'ssekit';
 * import { sse } from 'ssekit/hono';
 *
 * app.post(
 *   '/bulk',
 *   bodyLimit({ maxSize: 10 * 1024 * 1024 }),
 *   sse(handler, {
 *     json: { stream: async (c) => streamRequested(await c.req.json(), c.req.queries('stream')) },
 *   }),
 * );
 * ```
 */
export const TOGGLE_BODY_LIMIT = 1024 * 1024;

/** An error that Hono's default error handler answers with its own response, as an `HTTPException`. */
type HttpError = SseError & { readonly status: number; getResponse(): Response };

function httpError(
  code: SseErrorCode,
  status: 400 | 413,
  message: string,
  cause?: unknown,
): HttpError {
  const text = status === 413 ? 'Payload Too Large' : 'Bad Request';
  const error = new SseError(code, message, cause === undefined ? {} : { cause });
  return Object.assign(error, {
    status,
    getResponse: () => new Response(text, { status, headers: { 'content-type': 'text/plain' } }),
  });
}

const tooLarge = (): HttpError =>
  httpError('BODY_TOO_LARGE', 413, `the request body is over ${TOGGLE_BODY_LIMIT} bytes`);

/** Reads the request body, at most {@link TOGGLE_BODY_LIMIT} bytes, into Hono's body cache. */
async function readText(c: Context): Promise<string> {
  const cache = c.req.bodyCache;
  // Read already (by a validator, say): Hono gives it back from its cache.
  if (Object.keys(cache).length > 0) return c.req.text();
  if (Number(c.req.header('content-length')) > TOGGLE_BODY_LIMIT) throw tooLarge();
  let text = '';
  const body = c.req.raw.body;
  if (body) {
    const decoder = new TextDecoder();
    const reader = body.getReader();
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > TOGGLE_BODY_LIMIT) {
        await reader.cancel();
        throw tooLarge();
      }
      text += decoder.decode(value, { stream: true });
    }
    text += decoder.decode();
  }
  // So that the handler can still call `c.req.json()` or `c.req.text()`. Hono caches promises
  // (its `BodyCache` type says values).
  (cache as Record<string, unknown>).text = Promise.resolve(text);
  return text;
}

async function byBodyOrQuery(c: Context): Promise<boolean> {
  let body: unknown;
  if (/json/i.test(c.req.header('content-type') ?? '')) {
    const text = await readText(c);
    // An empty body is no body, as for Express's and Koa's body parsers.
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw httpError('INVALID_BODY', 400, 'the request body is not valid JSON', error);
      }
    }
  }
  // Every value of the parameter, so that a repeated one says nothing, as on the other adapters.
  return streamRequested(body, c.req.queries('stream'));
}

/** The Node response `@hono/node-server` puts in `c.env.outgoing`; `undefined` elsewhere. */
function nodeResponse(c: Context): NodeResponse | undefined {
  const outgoing = (c.env as { outgoing?: NodeResponse } | undefined)?.outgoing;
  return typeof outgoing?.setHeader === 'function' ? outgoing : undefined;
}

const ALREADY_SENT = 'x-hono-already-sent';

/**
 * Hands the Node response the headers of the response the middleware chain ended with: what
 * middleware set before the handler and after `await next()`. Throws if the chain ended with
 * another response (`app.onError` answered): node-server sends that one instead of the stream.
 * An app whose only handler is this one has no chain: Hono (v4.13) hands node-server the
 * handler's response as it is, without setting `c.res` or `c.finalized`.
 */
function adoptHeaders(c: Context, res: NodeResponse): void {
  const { headers } = c.res;
  if (c.finalized && headers.get(ALREADY_SENT) === null) {
    throw new SseError('CLIENT_GONE', 'the middleware chain answered with another response');
  }
  for (const [name, value] of headers) {
    if (name !== 'set-cookie' && name !== ALREADY_SENT) res.setHeader(name, value);
  }
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
}

/**
 * What @hono/node-server's `RESPONSE_ALREADY_SENT` is (checked in v2.1.9): a bodiless response
 * marked `x-hono-already-sent`, which the server then leaves alone. Made here so ssekit/hono
 * needs no @hono/node-server at runtime. Reading `body` turns node-server's light global
 * `Response` into a real one, whose fast path (v2.1.9) would write headers without checking the
 * mark (ERR_HTTP_HEADERS_SENT on an app without middleware). Its body is `null`, so `etag()`
 * has nothing to hash (and answers no `If-None-Match: *` with a 304) and `compress()` nothing to
 * compress.
 */
function alreadySent(): Response {
  const response = new Response(null, { headers: { [ALREADY_SENT]: 'true' } });
  void response.body;
  return response;
}

/**
 * A weak validator that no other response has: `etag()` takes it instead of hashing a body that
 * has not ended, and no stale `If-None-Match` matches it.
 */
const uniqueEtag = (): string => `W/"ssekit-${crypto.randomUUID()}"`;

async function respond<T>(
  c: Context,
  producer: Producer<T>,
  endpoint: Endpoint<T, Context>,
  options: StreamOptions<T>, // for toSseResponse, which resolves them again (`json` is ignored)
): Promise<Response> {
  const res = nodeResponse(c);
  try {
    if (res) {
      // Made now, so that Hono merges the headers middleware set before the handler into the
      // handler's response (they would be dropped otherwise).
      void c.res;
      // The stream commits once the chain has returned (a turn of the event loop after this
      // handler, when node-server has the final response), with every header it has.
      let chainReturned: (() => void) | undefined;
      const returned = new Promise<void>((resolve) => (chainReturned = resolve));
      // Lazy: the headers are adopted only by a stream that waits for them (not by a JSON
      // document of the stream toggle, which is sent at once).
      const hold: PromiseLike<void> = {
        then: (onResolved, onRejected) =>
          returned.then(() => adoptHeaders(c, res)).then(onResolved, onRejected),
      };
      try {
        await startResponse(c, res, producer, endpoint, { hold });
      } finally {
        setImmediate(chainReturned as () => void);
      }
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
        return c.body(document.body, document.status as 200 | 500, document.headers);
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
      headers: { etag: uniqueEtag() },
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
 * import { openAIText } from 'ssekit';
 * import { sendSse } from 'ssekit/hono';
 *
 * app.get('/complete', async (c) => {
 *   const stream = await openai.chat.completions.create({ model, messages, stream: true });
 *   return sendSse(c, stream, { map: openAIText });
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
