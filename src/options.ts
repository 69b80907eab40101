/**
 * Stream options, validated and resolved once per endpoint.
 * @module
 */
import { isSseError, SseError } from './errors.js';
import { type EventFields, formatRetry } from './format.js';
import { type FormatOption, type FrameFormat, resolveFormat } from './frames.js';

/** A complete event: its data and optional fields. Create one with {@link sseEvent}. */
export interface SseEvent extends EventFields {
  /** A string (sent as it is) or any JSON value (sent as compact JSON). */
  data: unknown;
}

const eventBrand = Symbol.for('ssekit.SseEvent');

/**
 * Makes an event with fields, for sources and `map` functions that yield or return events rather
 * than bare data (a plain object would be sent as JSON data).
 *
 * @example Naming events from an agent loop
 * ```ts
 * import { sseEvent } from 'ssekit';
 *
 * async function* agent() {
 *   yield sseEvent({ text: 'search the docs' }, { event: 'thought' });
 *   yield sseEvent('42', { event: 'final', id: '1' });
 * }
 * ```
 */
export function sseEvent(data: unknown, fields?: EventFields): SseEvent {
  const { event, id, retry } = fields ?? {};
  return { [eventBrand]: true, data, event, id, retry } as SseEvent;
}

/**
 * Whether `value` was made by {@link sseEvent}.
 *
 * @example Events versus plain data
 * ```ts
 * import { isSseEvent, sseEvent } from 'ssekit';
 *
 * isSseEvent(sseEvent('hi')); // true
 * isSseEvent({ data: 'hi' }); // false: plain objects are data
 * ```
 */
export function isSseEvent(value: unknown): value is SseEvent {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<symbol, unknown>)[eventBrand] === true
  );
}

/** Options of one streaming endpoint. Every option is optional. */
export interface StreamOptions<T = unknown> {
  /**
   * How events are framed: `'sse'`, `'raw'` (bare text chunks), `'ndjson'`, or a
   * {@link FrameFormat} such as {@link customFormat}`({ prefix, suffix })`.
   * @defaultValue `'sse'`
   */
  format?: FormatOption;
  /**
   * Turns each chunk of the source into what is sent: data, an {@link sseEvent}, or `undefined`
   * to send nothing for this chunk (e.g. `(chunk) => chunk.choices[0]?.delta?.content`).
   * Not applied to what the push writer's `send` receives.
   * @defaultValue the chunk itself
   */
  map?: ((chunk: T, index: number) => unknown) | undefined;
  /**
   * The `event:` name given to every data event that has no name of its own.
   * @defaultValue none: clients see `message` events
   */
  event?: string | undefined;
  /**
   * A terminal event sent when the producer finishes normally (not on abort or error), e.g.
   * `{ data: '[DONE]' }` as OpenAI does, or `{ event: 'done', data: '' }` so an EventSource client
   * can close instead of reconnecting and re-running the prompt. `false` sends none.
   * @defaultValue `false`
   */
  done?: SseEventInit | false | undefined;
  /**
   * Milliseconds of silence after which a heartbeat comment is sent, so proxies and clients that
   * cut idle connections keep the stream; the timer restarts on every frame. `false` turns
   * heartbeats off. Formats without comments (`raw`, `ndjson`, custom) send none. At most
   * 2147483647 (2^31 - 1, the longest timer delay).
   * @defaultValue `15000`
   */
  heartbeat?: number | false | undefined;
  /**
   * A `retry:` value (milliseconds) sent first, before the producer runs, so it also commits the
   * response at once.
   * @defaultValue none
   */
  retry?: number | undefined;
  /**
   * An opening comment sent first, before the producer runs: it commits the headers at once and
   * gives clients that wait for body bytes their `open` event before the first token. `true` sends
   * an empty comment; a string sends that text.
   * @defaultValue `false`
   */
  open?: boolean | string | undefined;
  /**
   * The most text (in UTF-16 code units: bytes, for ASCII) held for a producer that does not wait
   * for `send()`'s promise while the client is slow. On overflow the producer's signal aborts with `QUEUE_OVERFLOW`, `onError` is called,
   * the events already accepted are still delivered, then the error event, then the stream ends.
   * @defaultValue `1048576` (1 Mi code units)
   */
  queueLimit?: number | undefined;
  /**
   * Builds the event sent when the producer fails mid-stream. The default sends
   * `event: error` with `{"error":"Internal Server Error"}`: no message, no stack. For the errors
   * of a resumable stream's reader (`ssekit/resume`) it adds their public `code`
   * (`producer_lost`, `store_unavailable`, `internal_error`), and sends nothing for a reader that
   * was cut (`READER_OVERFLOW`, `GENERATION_GONE`), so its client reconnects. Return
   * `undefined` (or pass `false`) to end the stream without an error event.
   * @defaultValue a generic error event
   */
  errorEvent?: ((error: unknown) => SseEventInit | undefined) | false | undefined;
  /**
   * Called with every producer error that ends a stream after it started (before that, the error
   * goes to the framework's own error path), and with `QUEUE_OVERFLOW`.
   * @defaultValue none
   */
  onError?: ((error: unknown) => void) | undefined;
}

/** An event given as a plain object, for the `done` and `errorEvent` options. */
export interface SseEventInit extends EventFields {
  /** A string (sent as it is) or any JSON value (sent as compact JSON). */
  data: unknown;
}

/** {@link StreamOptions} checked and resolved once: what the stream engine runs on. */
export interface StreamConfig<T = unknown> {
  /** The resolved frame format. */
  readonly format: FrameFormat;
  /** See {@link StreamOptions.map}. */
  readonly map: ((chunk: T, index: number) => unknown) | undefined;
  /** Fields given to unnamed data events. */
  readonly fields: EventFields | undefined;
  /** The terminal frame, already encoded. */
  readonly doneFrame: string | undefined;
  /** Heartbeat interval in milliseconds, or 0 when off. */
  readonly heartbeat: number;
  /** The heartbeat frame, already encoded. */
  readonly heartbeatFrame: string | undefined;
  /** Frames written before the producer runs (`retry`, `open`), already encoded. */
  readonly openingFrame: string | undefined;
  /** See {@link StreamOptions.queueLimit}. */
  readonly queueLimit: number;
  /** See {@link StreamOptions.errorEvent}. */
  readonly errorEvent: ((error: unknown) => SseEventInit | undefined) | undefined;
  /** See {@link StreamOptions.onError}. */
  readonly onError: ((error: unknown) => void) | undefined;
}

const MAX_TIMER_DELAY = 2 ** 31 - 1;

// Errors of resumable streams whose code the client may see (the resume wire contract):
// `event: error` with that `code` and a generic text, never the error's message.
const PUBLIC_CODES: Partial<Record<string, { code: string; error: string }>> = {
  PRODUCER_LOST: { code: 'producer_lost', error: 'The producer of this stream was lost' },
  STORE_UNAVAILABLE: { code: 'store_unavailable', error: 'The stream store is unavailable' },
  PRODUCER_FAILED: { code: 'internal_error', error: 'Internal Server Error' },
};
// A resumable reader that was cut (it fell behind, or its generation went away) ends without an
// error event: the client reconnects with its last id and is answered from the log.
const RECONNECT_CODES: readonly string[] = ['READER_OVERFLOW', 'GENERATION_GONE'];

const genericError = (error: unknown): SseEventInit | undefined => {
  if (isSseError(error)) {
    if (RECONNECT_CODES.includes(error.code)) return undefined;
    const known = PUBLIC_CODES[error.code];
    if (known !== undefined) return { event: 'error', data: { ...known } };
  }
  return { event: 'error', data: { error: 'Internal Server Error' } };
};

function invalid(field: string, expected: string, received: unknown): SseError {
  return new SseError(
    'INVALID_OPTION',
    `\`${field}\` must be ${expected}, received ${typeof received === 'string' ? JSON.stringify(received) : String(received)}`,
    { field },
  );
}

/**
 * Checks {@link StreamOptions} and resolves their defaults once, encoding the fixed frames
 * (`done`, heartbeat, `retry`, opening comment) up front so a bad option fails when the endpoint
 * is created, not when a client connects.
 *
 * @throws {@link SseError} `INVALID_OPTION` (or the field's own code) naming the option.
 *
 * @example Resolving once per endpoint
 * ```ts
 * import { resolveOptions } from 'ssekit';
 *
 * const config = resolveOptions({ done: { data: '[DONE]' }, heartbeat: 10_000 });
 * config.doneFrame; // 'data: [DONE]\n\n'
 * ```
 */
export function resolveOptions<T = unknown>(options: StreamOptions<T> = {}): StreamConfig<T> {
  if (typeof options !== 'object' || options === null)
    throw invalid('options', 'an object', options);
  const format = resolveFormat(options.format ?? 'sse');
  const { map, event, done, heartbeat = 15_000, retry, open = false } = options;
  const { queueLimit = 1024 * 1024, errorEvent, onError } = options;

  if (map !== undefined && typeof map !== 'function') throw invalid('map', 'a function', map);
  if (event !== undefined && typeof event !== 'string') throw invalid('event', 'a string', event);
  const fields: EventFields | undefined = event === undefined ? undefined : { event };
  if (fields) format.event('', fields); // validates the name now

  if (done !== undefined && done !== false && (typeof done !== 'object' || done === null)) {
    throw invalid('done', 'an event object or false', done);
  }
  const doneFrame = done ? format.event(done.data, done) : undefined;

  // Timers hold at most 2^31 - 1 ms; a longer delay fires at once (Node: TimeoutOverflowWarning),
  // which would turn the heartbeat into a busy loop.
  if (
    heartbeat !== false &&
    !(Number.isSafeInteger(heartbeat) && heartbeat > 0 && heartbeat <= MAX_TIMER_DELAY)
  ) {
    throw invalid(
      'heartbeat',
      `a positive integer number of milliseconds up to ${MAX_TIMER_DELAY}, or false`,
      heartbeat,
    );
  }
  const heartbeatFrame = heartbeat === false ? undefined : format.comment('');

  let openingFrame = '';
  const retryFrame = retry === undefined ? '' : formatRetry(retry);
  // `retry:` is an SSE field: formats without comments have no fields either.
  if (format.comment('') !== undefined) openingFrame += retryFrame;
  if (open !== false) {
    if (open !== true && typeof open !== 'string')
      throw invalid('open', 'a boolean or string', open);
    openingFrame += format.comment(open === true ? '' : open) ?? '';
  }

  if (!(Number.isSafeInteger(queueLimit) && queueLimit > 0)) {
    throw invalid('queueLimit', 'a positive integer (UTF-16 code units)', queueLimit);
  }
  if (errorEvent !== undefined && errorEvent !== false && typeof errorEvent !== 'function') {
    throw invalid('errorEvent', 'a function or false', errorEvent);
  }
  if (onError !== undefined && typeof onError !== 'function')
    throw invalid('onError', 'a function', onError);

  return {
    format,
    map,
    fields,
    doneFrame,
    heartbeat: heartbeatFrame === undefined ? 0 : (heartbeat as number),
    heartbeatFrame,
    openingFrame: openingFrame === '' ? undefined : openingFrame,
    queueLimit,
    errorEvent: errorEvent === false ? undefined : (errorEvent ?? genericError),
    onError,
  };
}
