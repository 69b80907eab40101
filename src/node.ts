/**
 * The Node piece shared by the Node adapters: writes frames to an `http.ServerResponse` (or an
 * HTTP/2 compatibility response) with drain-aware backpressure, sends headers at once, and aborts
 * the producer when the connection closes. Also a ready-made handler for plain `node:http`.
 * @module ssekit/node
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import {
  type Handler,
  isSseError,
  type Producer,
  resolveOptions,
  runStream,
  type SseTransport,
  type StreamConfig,
  type StreamOptions,
  type StreamRun,
  streamHeaders,
} from './index.js';

/** A response ssekit can write to: HTTP/1.x or the HTTP/2 compatibility API. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

// Headers that would make a proxy, cache or client wait for the end, or break chunked framing.
const CONFLICTING = [
  'content-length',
  'transfer-encoding',
  'etag',
  'last-modified',
  'content-encoding',
];

function isHttp1(res: NodeResponse): boolean {
  return (res.req as IncomingMessage | Http2ServerRequest | undefined)?.httpVersionMajor !== 2;
}

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
  const transport: SseTransport = {
    commit() {
      for (const name of CONFLICTING) res.removeHeader(name);
      const headers = streamHeaders(config.format.contentType);
      for (const name in headers) res.setHeader(name, headers[name] as string);
      if (isHttp1(res)) {
        res.setHeader('connection', 'keep-alive');
        const socket = (res as ServerResponse).socket;
        // Nagle would hold small frames back; a server-wide setTimeout would cut quiet streams
        // (heartbeats keep the client and proxies alive instead).
        socket?.setNoDelay(true);
        socket?.setTimeout(0);
      }
      res.statusCode = 200;
      // HTTP/2's writeHead sends the headers itself; HTTP/1 needs the flush.
      if (isHttp1(res)) (res as ServerResponse).flushHeaders();
      else (res as Http2ServerResponse).writeHead(200);
    },
    write: (chunk) => (res as ServerResponse).write(chunk),
    waitForDrain: () => new Promise<void>((resolve) => (wake = resolve)),
    close() {
      if (finishing) return;
      finishing = true;
      release();
      if (!res.writableEnded && !res.destroyed) res.end();
    },
  };
  res.on('drain', release);
  const run = runStream(transport, producer, config);
  res.once('close', function onResponseClose() {
    res.off('drain', release);
    release();
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
  options: StreamOptions<T> = {},
): Promise<void> {
  const run = streamToResponse(res, producer, resolveOptions(options));
  await run.ready;
  await run.done;
}

/**
 * Makes a `node:http` request listener that streams what `handler` produces. A handler that fails
 * before its first frame gets a bare `500` (and `onError` is called); later failures end the
 * stream with the endpoint's error event. A client that leaves before the first frame aborts the
 * handler's signal and is not reported to `onError`.
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
  options: StreamOptions<T> = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const config = resolveOptions(options);
  return function sseListener(req, res) {
    const run = streamToResponse(res, (writer) => handler(writer, req, res), config);
    run.ready.catch((error: unknown) => {
      // A client that left before the first frame is not a handler failure, and has no one to
      // answer.
      if (isSseError(error) && error.code === 'CLIENT_GONE') return;
      config.onError?.(error);
      if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
    });
  };
}
