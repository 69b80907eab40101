/**
 * The stream toggle: an opt-in, per-endpoint rule that answers a request with one JSON document
 * (the handler's tokens joined) instead of a stream, as the GitLab AI Gateway does with
 * `"stream": "False"`. The adapters read the request; the rule's parsing lives here, once.
 * @module
 */
import { isSseError, SseError } from './errors.js';
import type { StreamLimiter } from './limits.js';
import { resolveOptions, type StreamConfig, type StreamOptions } from './options.js';
import { collectText, type Producer } from './stream.js';

/** How an endpoint decides between a stream and one JSON document, and shapes the document. */
export interface JsonToggleOptions<R = unknown> {
  /**
   * Whether this request gets a stream (`true`) or one JSON document (`false`).
   * @defaultValue a `stream` field in the JSON body, else the `stream` query parameter (see
   * {@link streamRequested}); `Accept` is not consulted
   */
  stream?: ((request: R) => boolean | Promise<boolean>) | undefined;
  /**
   * Builds the JSON document from the joined text of the handler's events.
   * @defaultValue `(text) => ({ response: text })`
   */
  shape?: ((text: string, request: R) => unknown) | undefined;
  /**
   * The most text (UTF-16 code units) collected for one JSON answer. Past it the producer is
   * stopped (its signal aborts with an {@link SseError} `DOCUMENT_TOO_LARGE`), `onError` is called
   * with that error, and the client gets `500` with `{"error":"Internal Server Error"}`, as a
   * stream's error event says it: one request cannot exhaust the server's memory.
   * @defaultValue the endpoint's `queueLimit` (`1048576`, 1 Mi code units)
   */
  limit?: number | undefined;
}

/**
 * Options of an adapter endpoint (`sse()` and `sendSse()` in `ssekit/express`, `ssekit/koa`,
 * `ssekit/hono`): the stream's options plus the stream toggle. `R` is what the rule reads: the
 * Express request, the Koa context or the Hono context.
 */
export interface SseOptions<T = unknown, R = unknown> extends StreamOptions<T> {
  /**
   * The stream toggle. `true` turns it on with the default rule and shape; an object replaces
   * either; `false` (or nothing) always streams. A "no stream" answer is
   * `Content-Type: application/json` with a `Content-Length`, and a handler error is sent to the
   * framework's error path.
   * @defaultValue `false`
   */
  json?: boolean | JsonToggleOptions<R> | undefined;
  /**
   * Caps concurrent streams, overall and per key (made by `createLimiter()`; one limiter may
   * serve many endpoints). Checked before the stream commits: a refused request gets `429` with
   * `Retry-After`. While a drain covers the server, every request gets `503` with `Retry-After`,
   * limiter or not.
   * @defaultValue none
   */
  limiter?: StreamLimiter<R> | undefined;
}

/**
 * A JSON document ready to be sent: its text and headers (`Content-Type`, `Content-Length`, and
 * `Cache-Control: no-cache, no-transform` so compression middleware leaves the length alone).
 */
export interface JsonDocument {
  /** The status to answer with: `200`, or `500` when the document grew past its `limit`. */
  readonly status: number;
  /** The serialised document. */
  readonly body: string;
  /** `content-type: application/json`, `cache-control` and the body's `content-length` in bytes. */
  readonly headers: Record<string, string>;
}

/** The stream toggle of one endpoint, resolved once. */
export interface StreamToggle<R = unknown> {
  /** Whether `request` gets a stream. */
  stream(request: R): boolean | Promise<boolean>;
  /**
   * Runs the producer to its end and builds the document; rejects with the producer's error, or
   * with the signal's reason when it aborts first.
   */
  collect<T>(
    producer: Producer<T>,
    request: R,
    config: StreamConfig<T>,
    signal?: AbortSignal,
  ): Promise<JsonDocument>;
}

/** An endpoint's options resolved once: the stream's config and its toggle, if any. */
export interface Endpoint<T = unknown, R = unknown> {
  /** The resolved stream options. */
  readonly config: StreamConfig<T>;
  /** The stream toggle, or `undefined` when the endpoint always streams. */
  readonly toggle: StreamToggle<R> | undefined;
  /** See {@link SseOptions.limiter}. */
  readonly limiter: StreamLimiter<R> | undefined;
}

const TRUE: readonly unknown[] = [true, 1, 'true', 'True', '1'];
const FALSE: readonly unknown[] = [false, 0, 'false', 'False', '0'];

/**
 * Reads one `stream` flag: `true`, `1`, `"true"`, `"True"` and `"1"` ask for a stream; `false`,
 * `0`, `"false"`, `"False"` and `"0"` for a JSON document; anything else (absent, repeated,
 * unknown) says nothing.
 *
 * @example Python's spelling of a boolean
 * ```ts
 * import { parseStreamFlag } from 'ssekit';
 *
 * parseStreamFlag('False'); // false: str(False), as the GitLab AI Gateway's clients send it
 * parseStreamFlag(undefined); // undefined
 * ```
 */
export function parseStreamFlag(value: unknown): boolean | undefined {
  if (TRUE.includes(value)) return true;
  if (FALSE.includes(value)) return false;
  return undefined;
}

/**
 * The default rule of the stream toggle, the same on every adapter: the `stream` field of a JSON
 * body object, else the `stream` query parameter, else a stream. `query` is every value the query
 * string gives (`?stream=0&stream=1` is `['0', '1']`, as Express and Koa parse it, and as the Hono
 * and Node adapters pass `c.req.queries('stream')` and `searchParams.getAll('stream')`): one value
 * (or an array of one) is read with {@link parseStreamFlag}; a repeated parameter says nothing,
 * whatever its values. `Accept` is not consulted: clients send `accept: application/json` while
 * asking for a stream, and axios sends `application/json, text/plain, *\/*` on every request.
 *
 * @example The body wins over the query string; a repeated parameter says nothing
 * ```ts
 * import { streamRequested } from 'ssekit';
 *
 * streamRequested({ prompt: 'hi', stream: 'False' }, undefined); // false
 * streamRequested(undefined, ['0']); // false
 * streamRequested(undefined, ['0', '1']); // true: the default
 * streamRequested(undefined, undefined); // true
 * ```
 */
export function streamRequested(body: unknown, query: unknown): boolean {
  const field =
    typeof body === 'object' && body !== null ? (body as { stream?: unknown }).stream : undefined;
  const value = Array.isArray(query)
    ? query.length === 1
      ? (query[0] as unknown)
      : undefined
    : query;
  return parseStreamFlag(field) ?? parseStreamFlag(value) ?? true;
}

const defaultShape = (text: string): unknown => ({ response: text });
const GENERIC_ERROR_BODY = '{"error":"Internal Server Error"}';

const encoder = new TextEncoder();

/**
 * Resolves an adapter endpoint's options once: the stream options through
 * {@link resolveOptions}, and the `json` toggle with the adapter's way of reading the default
 * rule's fields from its request.
 *
 * @throws {@link SseError} `INVALID_OPTION` naming the option.
 *
 * @example The core of an adapter for a new framework
 * ```ts
 * import { resolveEndpoint, streamRequested } from 'ssekit';
 *
 * type Req = { body: unknown; query: Record<string, string | undefined> };
 * const { config, toggle } = resolveEndpoint<unknown, Req>({ json: true }, (req) =>
 *   streamRequested(req.body, req.query.stream),
 * );
 * ```
 */
export function resolveEndpoint<T, R>(
  options: SseOptions<T, R>,
  defaultRule: (request: R) => boolean | Promise<boolean>,
): Endpoint<T, R> {
  const { json, limiter, ...streamOptions } = options;
  const config = resolveOptions(streamOptions);
  if (limiter !== undefined && typeof (limiter as { acquire?: unknown }).acquire !== 'function') {
    throw new SseError('INVALID_OPTION', '`limiter` must be made by createLimiter()', {
      field: 'limiter',
    });
  }
  if (json === undefined || json === false) return { config, toggle: undefined, limiter };
  if (json !== true && (typeof json !== 'object' || json === null)) {
    throw new SseError('INVALID_OPTION', `\`json\` must be a boolean or an object`, {
      field: 'json',
    });
  }
  const {
    stream = defaultRule,
    shape = defaultShape,
    limit = config.queueLimit,
  } = json === true ? {} : json;
  if (!(Number.isSafeInteger(limit) && limit > 0)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`json.limit\` must be a positive integer (UTF-16 code units), received ${String(limit)}`,
      { field: 'json.limit' },
    );
  }
  for (const [name, value] of [
    ['stream', stream],
    ['shape', shape],
  ] as const) {
    if (typeof value !== 'function') {
      throw new SseError('INVALID_OPTION', `\`json.${name}\` must be a function`, {
        field: `json.${name}`,
      });
    }
  }
  return {
    config,
    limiter,
    toggle: {
      stream,
      async collect(producer, request, { map, fields, onError }, signal) {
        let status = 200;
        let body: string;
        try {
          const text = await collectText(producer, { map, event: fields?.event, limit }, signal);
          body = JSON.stringify(shape(text, request)) ?? 'null';
        } catch (error) {
          if (!isSseError(error) || error.code !== 'DOCUMENT_TOO_LARGE') throw error;
          // ssekit's own guard, not a handler failure: answered here, generically, and reported
          // (a hook that throws passes its error on, to the framework's error path).
          onError?.(error);
          status = 500;
          body = GENERIC_ERROR_BODY;
        }
        const headers = {
          'content-type': 'application/json',
          // Like the stream's: no-transform keeps compression middleware (and proxies) from
          // replacing the Content-Length with a chunked, compressed body.
          'cache-control': 'no-cache, no-transform',
          'content-length': String(encoder.encode(body).byteLength),
        };
        return { status, body, headers };
      },
    },
  };
}
