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

/**
 * Whether the client of a response has already gone: an HTTP/1 response is destroyed when its
 * socket closes, an HTTP/2 compatibility response has no `destroyed` of its own but its stream is.
 */
function isGone(res: NodeResponse): boolean {
  return res.destroyed || (res as Http2ServerResponse).stream?.destroyed === true;
}

/**
 * `Date.now()`, read once per turn of the event loop and shared by every stream: it expires on
 * `process.nextTick`, which runs only once the turn's microtasks (a producer's awaited sends) are
 * done. One clock read per burst instead of one per frame (bench/RESULTS.md, issue 12); a frame
 * stamped early by a long turn can only make its heartbeat come early, never late.
 */
let clock = 0;
let clockFresh = false;
function expireClock(): void {
  clockFresh = false;
}
function turnNow(): number {
  if (!clockFresh) {
    clock = Date.now();
    clockFresh = true;
    process.nextTick(expireClock);
  }
  return clock;
}

const sharedHeaders = new Map<string, Readonly<Record<string, string>>>();

/** The HTTP/1 streaming headers for a content type, made once and shared by every stream. */
function http1Headers(contentType: string): Readonly<Record<string, string>> {
  let headers = sharedHeaders.get(contentType);
  if (headers === undefined) {
    headers = Object.freeze({ ...streamHeaders(contentType), connection: 'keep-alive' });
    sharedHeaders.set(contentType, headers);
  }
  return headers;
}

/** The server that accepted the response's connection: what `drain({ server })` matches. */
function serverOf(res: NodeResponse): object | null {
  const socket = (res as ServerResponse).socket as { server?: object | null } | null;
  return socket?.server ?? null;
}

function isHttp1(res: NodeResponse): boolean {
  return (res.req as IncomingMessage | Http2ServerRequest | undefined)?.httpVersionMajor !== 2;
}

// Plain node:http has no body parser: a body set by one (as `req.body`) is read, else the query.
// Every value of the parameter, so that a repeated one says nothing, as on the other adapters.
const byBodyOrQuery = (req: IncomingMessage): boolean =>
  streamRequested(
    (req as { body?: unknown }).body,
    new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('stream'),
  );

/** Options of {@link streamToResponse} and {@link startResponse} for framework adapters. */
export interface NodeStreamOptions {
  /**
   * Holds the commit of a stream (status, headers, first bytes) until this promise resolves,
   * while the producer already runs, so that headers the framework's middleware sets once the
   * rest of the chain has returned (after `await next()`: security headers, `Server-Timing`,
   * CORS) are on the stream. Until then the response counts as full: the producer waits as for
   * a slow client (`send()` resolves once the stream is committed). If the promise rejects, or
   * the response was sent by someone else meanwhile (an error handler), the stream is aborted
   * (with the rejection's reason, or `CLIENT_GONE`) and writes nothing.
   * @defaultValue {@link streamToResponse}: none, the stream commits as soon as the producer
   * starts; {@link startResponse}: one turn of the event loop (`setImmediate`) after the
   * producer started, which is after the middleware chain of Express, Koa and `node:http`
   * listeners has returned, as long as no middleware waits for I/O after `next()`
   */
  hold?: PromiseLike<unknown> | undefined;
}

/**
 * Starts streaming a producer on a Node response: the transport plus the abort wiring. The
 * response is committed (status 200, streaming headers, flushed at once) when the producer starts,
 * or, with {@link NodeStreamOptions.hold | hold}, once that has resolved; `run.ready` rejects,
 * with nothing written, if the producer fails before it starts.
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
  { hold }: NodeStreamOptions = {},
): StreamRun {
  const transport = new NodeTransport(
    res,
    config.format.contentType,
    hold !== undefined,
    config.observe !== undefined,
  );
  const run = runStream(transport, producer, config);
  transport.run = run;
  track(run, serverOf(res));
  hold?.then(
    () => transport.unhold(),
    (reason: unknown) => transport.giveUp(reason),
  );
  return run;
}

/**
 * The transport of one Node response. One object with its methods on the prototype, not a closure
 * per function: an open stream holds it for as long as it lives, and a dozen closures and their
 * scope were most of what the Node side of an idle stream cost (bench/memory.ts, issue 12).
 *
 * Frames written to an HTTP/1 response in one tick are joined and handed over at the end of the
 * tick. Node corks the socket from a response's first write until the next tick anyway (v20,
 * `write_` in _http_outgoing.js), so this delays nothing; it saves a `res.write` per frame (and a
 * chunk header, under chunked encoding): one write for many frames (bench/RESULTS.md).
 */
class NodeTransport implements SseTransport {
  readonly res: NodeResponse;
  readonly contentType: string;
  readonly http1: boolean;
  run: StreamRun | undefined = undefined;
  finishing = false;
  // While held: whether the engine has asked to commit, and to close.
  held: boolean;
  commitAsked = false;
  closeAsked = false;
  wake: (() => void) | undefined = undefined;
  pending = '';
  scheduled = false;
  // Frames are held until a high-water mark's worth is here (or the tick ends), then go as one
  // write: the response then holds at most one more, and says `false` when full, so the engine
  // waits for `drain`. Read once, not two getters per frame (bench/RESULTS.md, issue 12).
  room = 0;
  // Body bytes handed to the response, for stats: counted once per write, and only when the
  // endpoint observes its streams.
  readonly counting: boolean;
  bytes = 0;
  readonly release: () => void;
  readonly onClose: () => void;
  /** Only for an observed endpoint: an idle stream does not carry one more function. */
  written?: () => number;

  constructor(res: NodeResponse, contentType: string, held: boolean, counting: boolean) {
    this.res = res;
    this.contentType = contentType;
    this.http1 = isHttp1(res);
    this.held = held;
    this.counting = counting;
    if (counting) this.written = () => this.bytes;
    // The two listeners the response needs: the only functions made per stream.
    this.release = () => {
      const resolve = this.wake;
      this.wake = undefined;
      resolve?.();
    };
    this.onClose = () => {
      res.off('close', this.onClose);
      res.off('drain', this.release);
      this.release();
      if (this.run !== undefined) untrack(this.run);
      if (!this.finishing) this.run?.abort();
    };
    // `on`, not `once`: a response closes once, and `once` would add a wrapper per stream.
    res.on('close', this.onClose);
  }

  flush(): boolean {
    const chunk = this.pending;
    this.pending = '';
    if (this.counting) this.bytes += Buffer.byteLength(chunk);
    return chunk === '' || (this.res as ServerResponse).write(chunk);
  }

  flushLater(): void {
    this.scheduled = false;
    if (!this.finishing) this.flush();
  }

  /** Sends the status and headers now. */
  send(): void {
    const { res, http1 } = this;
    const out = res as ServerResponse;
    if (http1 && out.getHeaderNames().length === 0) {
      // Nothing set by middleware: one writeHead of a shared object, and the response keeps no
      // header table of its own for as long as the stream is open (bench/memory.ts, issue 12).
      out.socket?.setNoDelay(true);
      out.socket?.setTimeout(0);
      out.writeHead(200, http1Headers(this.contentType));
      out.flushHeaders();
      this.room = out.writableHighWaterMark;
      return;
    }
    for (const name of CONFLICTING) res.removeHeader(name);
    const headers = streamHeaders(this.contentType);
    for (const name in headers) res.setHeader(name, headers[name] as string);
    // ssekit never sets Transfer-Encoding. On HTTP/1.1 Node frames the body as chunked by
    // itself: a client can tell a finished stream from a cut one (a truncated answer is an
    // error, not a short answer) and the connection can be reused. Removing the header would
    // turn that off (Node's `_removedTE`). On HTTP/2 it is a forbidden hop-by-hop header.
    if (!http1) res.removeHeader('transfer-encoding');
    if (http1) {
      res.setHeader('connection', 'keep-alive');
      // Nagle would hold small frames back; a server-wide setTimeout would cut quiet streams
      // (heartbeats keep the client and proxies alive instead).
      out.socket?.setNoDelay(true);
      out.socket?.setTimeout(0);
    }
    res.statusCode = 200;
    // HTTP/2's writeHead sends the headers itself; HTTP/1 needs the flush.
    if (http1) {
      out.flushHeaders();
      this.room = out.writableHighWaterMark;
    } else (res as Http2ServerResponse).writeHead(200);
  }

  end(): void {
    const { res } = this;
    const rest = this.pending;
    this.pending = '';
    if (!res.writableEnded && !res.destroyed) {
      if (this.counting) this.bytes += Buffer.byteLength(rest);
      if (rest === '') res.end();
      else res.end(rest);
    }
  }

  commit(): void {
    if (this.held) this.commitAsked = true;
    else this.send();
  }

  write(chunk: string): boolean {
    if (this.held) {
      // Full until committed: the engine waits (and queues, within its `queueLimit`).
      this.pending += chunk;
      return false;
    }
    if (!this.http1) {
      if (this.counting) this.bytes += Buffer.byteLength(chunk);
      return (this.res as Http2ServerResponse).write(chunk);
    }
    this.pending += chunk;
    if (this.pending.length < this.room) {
      if (!this.scheduled) {
        this.scheduled = true;
        process.nextTick(flushLater, this);
      }
      return true;
    }
    return this.flush();
  }

  waitForDrain(): Promise<void> {
    // Listened for only while full: an idle stream holds no `drain` listener.
    this.res.once('drain', this.release);
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  gone(): boolean {
    return isGone(this.res);
  }

  now(): number {
    return turnNow();
  }

  close(): void {
    if (this.finishing) return;
    this.finishing = true;
    this.release();
    if (this.held) this.closeAsked = true;
    else this.end();
  }

  giveUp(reason: unknown): void {
    this.held = false;
    this.pending = '';
    this.finishing = true;
    this.release();
    this.run?.abort(reason);
  }

  unhold(): void {
    this.held = false;
    const { res } = this;
    if (!this.commitAsked || res.destroyed) return; // nothing to send yet, or nobody to send it to
    // Someone else answered meanwhile (an error handler, after the middleware had returned).
    if (res.headersSent || res.writableEnded) {
      return this.giveUp(new SseError('CLIENT_GONE', 'the response was sent by someone else'));
    }
    this.send();
    if (this.closeAsked) return this.end();
    // When full, the engine is already waiting: its waitForDrain() listens for `drain`.
    if (this.flush()) this.release();
  }
}

/** The tick's flush: one function for every transport, which it gets as an argument. */
function flushLater(transport: NodeTransport): void {
  transport.flushLater();
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
 * producer has started (or the document is sent), with a promise for the response's end; rejects,
 * with nothing written, if the producer failed first (or the client left first: an
 * {@link SseError} `CLIENT_GONE`), so the framework can answer with its error status. A stream
 * commits a turn of the event loop later (or when `options.hold` resolves), once the framework's
 * middleware has returned, so the headers that middleware sets after `next()` are on it. While a drain covers the server it
 * answers `503`, and at the endpoint's `limiter`'s limit `429`, both with `Retry-After` and before
 * any stream byte. The one place the Node adapters share.
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
  options: NodeStreamOptions = {},
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
      const answer = await respondTo(request, res, producer, config, toggle, options);
      void answer.done.then(admission);
      return answer;
    } catch (error) {
      admission();
      throw error;
    }
  }
  return respondTo(request, res, producer, config, toggle, options);
}

async function respondTo<T, R>(
  request: R,
  res: NodeResponse,
  producer: Producer<T>,
  config: StreamConfig<T>,
  toggle: Endpoint<T, R>['toggle'],
  options: NodeStreamOptions,
): Promise<{ done: Promise<void> }> {
  if (toggle && !(await toggle.stream(request))) {
    const client = new AbortController();
    const onClose = (): void => client.abort(new SseError('CLIENT_GONE', 'the client went away'));
    // A client that left while an async middleware ran has no `close` event to come.
    if (isGone(res)) onClose();
    else res.once('close', onClose);
    try {
      const document = await toggle.collect(producer, request, config, client.signal);
      (res as ServerResponse).writeHead(document.status, document.headers).end(document.body);
    } finally {
      res.off('close', onClose);
    }
    return { done: Promise.resolve() };
  }
  // By default, held until the framework's middleware has returned: Express's `next()` and Koa's
  // `await next()` return within the turn that started the producer.
  let turn: (() => void) | undefined;
  const hold = options.hold ?? new Promise<void>((resolve) => (turn = () => setImmediate(resolve)));
  const run = streamToResponse(res, producer, config, { hold });
  try {
    await run.ready;
  } finally {
    turn?.();
  }
  // A getter: `done` is made only if the adapter awaits it.
  return {
    get done() {
      return run.done;
    },
  };
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
