/**
 * The Node piece shared by the Node adapters: writes frames to an `http.ServerResponse` (or an
 * HTTP/2 compatibility response) with drain-aware backpressure, sends headers at once, and aborts
 * the producer when the connection closes. Also a ready-made handler for plain `node:http`.
 * @module ssekit/node
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import {
  type Endpoint,
  type Handler,
  isSseError,
  type Producer,
  resolveEndpoint,
  SseError,
  type SseOptions,
  streamRequested,
  runStream,
  type SseTransport,
  type StreamConfig,
  type StreamRun,
  streamHeaders,
} from './index.js';
import { track, untrack } from './drain.js';
import { admit, isRefusal, refusalHeaders } from './limits.js';

/** A response ssekit can write to: HTTP/1.x or the HTTP/2 compatibility API. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

// Headers set upstream that would hurt a stream: a Content-Length cuts it short, validators
// (ETag, Last-Modified) invite a 304 to a conditional request, and a Content-Encoding would
// describe a compression these frames do not have.
const CONFLICTING = ['content-length', 'etag', 'last-modified', 'content-encoding'];

/** The server that accepted the response's connection: what `drain({ server })` matches. */
function serverOf(res: NodeResponse): object | null {
  const socket = (res as ServerResponse).socket as { server?: object | null } | null;
  return socket?.server ?? null;
}

function isHttp1(res: NodeResponse): boolean {
  return (res.req as IncomingMessage | Http2ServerRequest | undefined)?.httpVersionMajor !== 2;
}

// Plain node:http has no body parser: a body set by one (as `req.body`) is read, else the query.
const byBodyOrQuery = (req: IncomingMessage): boolean =>
  streamRequested(
    (req as { body?: unknown }).body,
    new URL(req.url ?? '/', 'http://localhost').searchParams.get('stream') ?? undefined,
  );

/**
 * Starts streaming a producer on a Node response: the transport plus the abort wiring. The
 * response is committed (status 200, streaming headers, flushed at once) when the producer starts;
 * `run.ready` rejects, with nothing written, if the producer fails before that.
 *
 * Client disconnects are read from the response's `close` event, not the request's: on a parsed
 * POST the request's `close` fires as soon as its body has been read.
 *
 * @example An endpoint in a framework without an adapter
 * ```ts
 * import { resolveOptions } from 'ssekit';
 * import { streamToResponse } from 'ssekit/node';
 *
 * const config = resolveOptions({ done: { data: '[DONE]' } });
 * function handle(res: import('node:http').ServerResponse) {
 *   const run = streamToResponse(res, ['Hello', ' world'], config);
 *   run.ready.catch(() => res.writeHead(500).end());
 * }
 * ```
 */
export function streamToResponse<T>(
  res: NodeResponse,
  producer: Producer<T>,
  config: StreamConfig<T>,
): StreamRun {
  let finishing = false;
  let wake: (() => void) | undefined;
  const release = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  // Frames written to an HTTP/1 response in one tick, joined and handed over at the end of the
  // tick. Node corks the socket from a response's first write until the next tick anyway (v20,
  // `write_` in _http_outgoing.js), so this delays nothing; it saves a `res.write` per frame (and
  // a chunk header, under chunked encoding): one write for many frames (bench/RESULTS.md).
  const http1 = isHttp1(res);
  let pending = '';
  let scheduled = false;
  // Body bytes handed to the response, for stats: counted once per write, and only when the
  // endpoint observes its streams.
  const counting = config.observe !== undefined;
  let written = 0;
  const flush = (): boolean => {
    const chunk = pending;
    pending = '';
    if (counting) written += Buffer.byteLength(chunk);
    return chunk === '' || (res as ServerResponse).write(chunk);
  };
  const flushLater = (): void => {
    scheduled = false;
    if (!finishing) flush();
  };
  const transport: SseTransport = {
    commit() {
      for (const name of CONFLICTING) res.removeHeader(name);
      const headers = streamHeaders(config.format.contentType);
      for (const name in headers) res.setHeader(name, headers[name] as string);
      // ssekit never sets Transfer-Encoding. On HTTP/1.1 Node frames the body as chunked by
      // itself: a client can tell a finished stream from a cut one (a truncated answer is an
      // error, not a short answer) and the connection can be reused. Removing the header would
      // turn that off (Node's `_removedTE`). On HTTP/2 it is a forbidden hop-by-hop header.
      if (!http1) res.removeHeader('transfer-encoding');
      if (http1) {
        res.setHeader('connection', 'keep-alive');
        const socket = (res as ServerResponse).socket;
        // Nagle would hold small frames back; a server-wide setTimeout would cut quiet streams
        // (heartbeats keep the client and proxies alive instead).
        socket?.setNoDelay(true);
        socket?.setTimeout(0);
      }
      res.statusCode = 200;
      // HTTP/2's writeHead sends the headers itself; HTTP/1 needs the flush.
      if (http1) (res as ServerResponse).flushHeaders();
      else (res as Http2ServerResponse).writeHead(200);
    },
    write(chunk) {
      if (!http1) {
        if (counting) written += Buffer.byteLength(chunk);
        return (res as Http2ServerResponse).write(chunk);
      }
      pending += chunk;
      const out = res as ServerResponse;
      // Full once what is held here and in the response reaches its high-water mark: then the
      // frames go now, and `false` from the response makes the engine wait for `drain`.
      if (pending.length + out.writableLength < out.writableHighWaterMark) {
        if (!scheduled) {
          scheduled = true;
          process.nextTick(flushLater);
        }
        return true;
      }
      return flush();
    },
    waitForDrain: () => new Promise<void>((resolve) => (wake = resolve)),
    close() {
      if (finishing) return;
      finishing = true;
      release();
      const rest = pending;
      pending = '';
      if (!res.writableEnded && !res.destroyed) {
        if (counting) written += Buffer.byteLength(rest);
        if (rest === '') res.end();
        else res.end(rest);
      }
    },
  };
  // Only for an observed endpoint: an idle stream does not carry one more closure.
  if (counting) transport.written = () => written;
  res.on('drain', release);
  const run = runStream(transport, producer, config);
  track(run, serverOf(res));
  res.once('close', function onResponseClose() {
    res.off('drain', release);
    release();
    untrack(run);
    if (!finishing) run.abort();
  });
  return run;
}

/**
 * Streams a producer on a Node response now: the inline form for code inside an existing route
 * handler. Resolves when the stream has ended; rejects, with nothing written, if the producer
 * failed before its first frame, so the caller can answer with an error status.
 *
 * @example Inside a node:http handler
 * ```ts
 * import { createServer } from 'node:http';
 * import { sendSse } from 'ssekit/node';
 *
 * createServer((req, res) => {
 *   sendSse(res, ['Hello', ' world'], { done: { data: '[DONE]' } }).catch(() => {
 *     res.writeHead(500).end();
 *   });
 * });
 * ```
 */
export async function sendSse<T>(
  res: NodeResponse,
  producer: Producer<T>,
  options: SseOptions<T, IncomingMessage> = {},
): Promise<void> {
  const endpoint = resolveEndpoint(options, byBodyOrQuery);
  const { done } = await startResponse(res.req as IncomingMessage, res, producer, endpoint);
  await done;
}

/**
 * Answers one request on a Node response the way an endpoint says: a stream, or, when the
 * endpoint's stream toggle says the client wants no stream, one JSON document. Resolves once the
 * response is committed, with a promise for its end; rejects, with nothing written, if the
 * producer failed first (or the client left first: an {@link SseError} `CLIENT_GONE`), so the
 * framework can answer with its error status. While a drain covers the server it answers `503`,
 * and at the endpoint's `limiter`'s limit `429`, both with `Retry-After` and before any stream
 * byte. The one place the Node adapters share.
 *
 * @example The heart of an adapter for another Node framework
 * ```ts
 * import { resolveEndpoint, streamRequested } from 'ssekit';
 * import { startResponse } from 'ssekit/node';
 *
 * const endpoint = resolveEndpoint({ json: true }, (req: { body?: unknown }) =>
 *   streamRequested(req.body, undefined),
 * );
 * async function handle(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) {
 *   const { done } = await startResponse(req, res, ['Hello', ' world'], endpoint);
 *   await done;
 * }
 * ```
 */
export async function startResponse<T, R>(
  request: R,
  res: NodeResponse,
  producer: Producer<T>,
  { config, toggle, limiter }: Endpoint<T, R>,
): Promise<{
  /** Resolves when the response has ended, however it ended. Never rejects. */
  done: Promise<void>;
}> {
  // Refused before any stream byte: 503 while the server drains, 429 at a limit.
  const admission = admit(request, limiter, serverOf(res));
  if (isRefusal(admission)) {
    const { body, headers } = refusalHeaders(admission);
    (res as ServerResponse).writeHead(admission.status, headers).end(body);
    return { done: Promise.resolve() };
  }
  if (admission !== undefined) {
    try {
      const answer = await respondTo(request, res, producer, config, toggle);
      void answer.done.then(admission);
      return answer;
    } catch (error) {
      admission();
      throw error;
    }
  }
  return respondTo(request, res, producer, config, toggle);
}

async function respondTo<T, R>(
  request: R,
  res: NodeResponse,
  producer: Producer<T>,
  config: StreamConfig<T>,
  toggle: Endpoint<T, R>['toggle'],
): Promise<{ done: Promise<void> }> {
  if (toggle && !(await toggle.stream(request))) {
    const client = new AbortController();
    const onClose = (): void => client.abort(new SseError('CLIENT_GONE', 'the client went away'));
    res.once('close', onClose);
    try {
      const document = await toggle.collect(producer, request, config, client.signal);
      (res as ServerResponse).writeHead(200, document.headers).end(document.body);
    } finally {
      res.off('close', onClose);
    }
    return { done: Promise.resolve() };
  }
  const run = streamToResponse(res, producer, config);
  await run.ready;
  return { done: run.done };
}

/**
 * Whether an error only says the client left before anything was sent: nobody is there to answer,
 * and it is no handler failure to report.
 *
 * @example Skipping the error response
 * ```ts
 * import { isClientGone } from 'ssekit/node';
 *
 * const onFailure = (error: unknown) => {
 *   if (!isClientGone(error)) console.error(error);
 * };
 * ```
 */
export function isClientGone(error: unknown): boolean {
  return isSseError(error) && error.code === 'CLIENT_GONE';
}

/**
 * Makes a `node:http` request listener that streams what `handler` produces, with the same
 * options as the framework adapters (the stream toggle's default rule reads `req.body` when a
 * body parser set it, else the `stream` query parameter). A handler that fails before its first
 * frame gets a bare `500` (and `onError` is called); later failures end the stream with the
 * endpoint's error event. A client that leaves before the first frame aborts the handler's signal
 * and is not reported to `onError`.
 *
 * @example A plain node:http server
 * ```ts
 * import { createServer } from 'node:http';
 * import { sse } from 'ssekit/node';
 *
 * createServer(
 *   sse(async (writer) => {
 *     await writer.send('Hello');
 *     await writer.send(' world');
 *   }),
 * ).listen(3000);
 * ```
 */
export function sse<T>(
  handler: Handler<T, [IncomingMessage, ServerResponse]>,
  options: SseOptions<T, IncomingMessage> = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const endpoint = resolveEndpoint(options, byBodyOrQuery);
  const { onError } = endpoint.config;
  return function sseListener(req, res) {
    startResponse(req, res, (writer) => handler(writer, req, res), endpoint).catch(
      (error: unknown) => {
        if (isClientGone(error)) return;
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
        try {
          onError?.(error);
        } catch {
          // A throwing hook must not turn into an unhandled rejection that stops the server.
        }
      },
    );
  };
}
