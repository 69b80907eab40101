/**
 * WHATWG stream and `Response` helpers, for fetch runtimes: Hono, Bun, Deno, Workers and
 * Next.js route handlers.
 * @module
 */
import { drainRetryAfter, track, untrack } from './drain.js';
import { SseError } from './errors.js';
import { streamHeaders } from './headers.js';
import { refusalHeaders } from './limits.js';
import { resolveOptions, type StreamConfig, type StreamOptions } from './options.js';
import { type Producer, runStream, type StreamRun } from './stream.js';

/** The byte count a {@link toSseStream} stream buffers before it stops pulling from the producer. */
const HIGH_WATER_MARK = 64 * 1024;

function startWebStream<T>(
  producer: Producer<T>,
  config: StreamConfig<T>,
  signal?: AbortSignal,
): { stream: ReadableStream<Uint8Array>; run: StreamRun } {
  const encoder = new TextEncoder();
  let run: StreamRun | undefined;
  let wake: (() => void) | undefined;
  let open = true; // false once the stream is closed, errored or cancelled
  let written = 0; // body bytes enqueued, for stats
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        run = runStream(
          {
            commit() {},
            write(chunk) {
              if (!open) return true;
              const bytes = encoder.encode(chunk);
              written += bytes.byteLength;
              controller.enqueue(bytes);
              return (controller.desiredSize ?? 0) > 0;
            },
            waitForDrain: () => new Promise<void>((resolve) => (wake = resolve)),
            written: () => written,
            close() {
              if (!open) return;
              open = false;
              if (run) untrack(run);
              wake?.();
              controller.close();
            },
            // A request whose client left before the handler ran: `request.signal` has fired.
            gone: () => signal?.aborted === true,
          },
          producer,
          config,
        );
        // A web stream knows no server: only a process-wide drain() covers it.
        if (open) track(run, null);
        run.ready.catch((error: unknown) => {
          untrack(run as StreamRun);
          if (open) {
            open = false;
            controller.error(error);
          }
        });
      },
      pull() {
        const resolve = wake;
        wake = undefined;
        resolve?.();
      },
      cancel(reason) {
        // The stream is already closed: the engine's transport.close() must not close it again
        // (that throws ERR_INVALID_STATE and would leave the abort half done).
        open = false;
        if (run) untrack(run);
        run?.abort(
          new SseError('CLIENT_GONE', 'the consumer cancelled the stream', { cause: reason }),
        );
      },
    },
    { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
  // `start` runs inside the constructor, so the run exists by now.
  return { stream, run: run as unknown as StreamRun };
}

/**
 * Streams a producer as a `ReadableStream` of encoded frames. Cancelling the stream (the client
 * went away) aborts the producer's signal (reason: `SseError` `CLIENT_GONE`, with the cancel
 * reason as its `cause`) and cancels its source at once; the producer is paused
 * while the consumer is not reading. A producer that fails before its first frame errors the
 * stream; one that fails later ends it with the endpoint's error event.
 *
 * @example A Next.js route handler
 * ```ts
 * import { streamHeaders, toSseStream } from 'ssekit';
 *
 * export function GET() {
 *   const body = toSseStream(['Hello', ' world'], { done: { data: '[DONE]' } });
 *   return new Response(body, { headers: streamHeaders('text/event-stream') });
 * }
 * ```
 */
export function toSseStream<T>(
  producer: Producer<T>,
  options: StreamOptions<T> = {},
): ReadableStream<Uint8Array> {
  return startWebStream(producer, resolveOptions(options)).stream;
}

/** Options of {@link toSseResponse}: the stream's options plus extra response headers. */
export interface SseResponseOptions<T = unknown> extends StreamOptions<T> {
  /** Extra headers for the response (the streaming headers win on conflict). @defaultValue none */
  headers?: Record<string, string> | undefined;
  /**
   * Aborts the stream when it fires, before or after the response is returned: pass the
   * request's signal (`request.signal`), which fetch runtimes abort when the client disconnects,
   * so a client that leaves while the model is still thinking stops it too.
   * @defaultValue none
   */
  signal?: AbortSignal | undefined;
}

/**
 * Streams a producer as a `Response` with the right headers. Resolves once the producer has
 * started (its handler returned a source, or it wrote its first frame), and rejects with the
 * producer's error if it failed before that, so the framework's error handler answers with its
 * normal status instead of a broken 200. While the process drains (see `drain()`) it resolves
 * to a `503` with `Retry-After` and starts nothing.
 *
 * @example A Bun or Deno server
 * ```ts
 * import { toSseResponse } from 'ssekit';
 *
 * export default {
 *   fetch: () =>
 *     toSseResponse(async function* () {
 *       yield 'Hello';
 *       yield ' world';
 *     }()),
 * };
 * ```
 */
export async function toSseResponse<T>(
  producer: Producer<T>,
  options: SseResponseOptions<T> = {},
): Promise<Response> {
  const { headers, signal, ...streamOptions } = options;
  const config = resolveOptions(streamOptions);
  const draining = drainRetryAfter(null);
  if (draining !== undefined) {
    const refusal = refusalHeaders({ status: 503, retryAfter: draining });
    return new Response(refusal.body, { status: 503, headers: refusal.headers });
  }
  const { stream, run } = startWebStream(producer, config, signal);
  if (signal && !signal.aborted) {
    const stop = (): void => run.abort(new SseError('CLIENT_GONE', 'the request was aborted'));
    signal.addEventListener('abort', stop, { once: true });
    void run.done.then(() => signal.removeEventListener('abort', stop));
  }
  await run.ready;
  return new Response(stream, {
    status: 200,
    headers: { ...headers, ...streamHeaders(config.format.contentType) },
  });
}
