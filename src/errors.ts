/**
 * Every error code ssekit raises, one per problem.
 *
 * - `INVALID_EVENT`: an `event` name holds CR or LF, which would forge fields, or a lone surrogate
 *   (half of a UTF-16 pair), which UTF-8 cannot carry.
 * - `INVALID_ID`: an `id` holds CR, LF, NUL or a lone surrogate (two ids would arrive as one).
 * - `INVALID_RETRY`: `retry` is not a non-negative safe integer.
 * - `INVALID_DATA`: data the endpoint's frame format cannot carry (e.g. a line break inside a
 *   line-delimited custom format, or `undefined`).
 * - `UNSERIALIZABLE_DATA`: a value JSON cannot serialise (BigInt, a cycle, a throwing `toJSON`).
 * - `INVALID_OPTION`: an option of the wrong type or range.
 * - `QUEUE_OVERFLOW`: a producer that ignores backpressure filled the bounded queue.
 * - `DOCUMENT_TOO_LARGE`: a JSON answer of the stream toggle (or {@link collectText}) grew past its
 *   `limit`; the producer was stopped.
 * - `CLIENT_GONE`: the client disconnected; the abort reason handed to producers.
 * - `UPSTREAM_ERROR`: an upstream stream being read or relayed failed: an error status, a body
 *   that is not `text/event-stream`, data that is not the JSON it should be, or an error event
 *   from the provider.
 * - `INVALID_BODY`: a request body the stream toggle's default rule had to read is not JSON
 *   (`ssekit/hono`, which answers `400`, as Express's and Koa's body parsers do).
 * - `BODY_TOO_LARGE`: a request body the stream toggle's default rule had to read is over its
 *   limit (`ssekit/hono`, 1 MiB, answered `413`).
 * - `HTTP_ERROR` (`ssekit/client`): the server answered with a status other than 2xx.
 * - `BAD_CONTENT_TYPE` (`ssekit/client`): the response is not of the expected `Content-Type`.
 * - `SERVER_ERROR` (`ssekit/client`): the server ended the stream with an `event: error` frame.
 * - `STREAM_CUT` (`ssekit/client`): the stream ended before its terminal frame and could not be
 *   resumed (not resumable, or the last attempt failed).
 * - `EVENT_TOO_LARGE` (`ssekit/client`): one event (or NDJSON line) exceeded `maxEventSize`.
 * - `STORE_FENCED`: a resume store refused a stale producer: its generation is not the stream's
 *   current one, or has ended (see `ssekit/resume`).
 * - `STORE_UNAVAILABLE`: a resume store cannot be reached, was closed, or its pending appends
 *   passed their bound.
 * - `PRODUCER_LOST`: a resumable generation ended because its producer stopped renewing its lease
 *   (its process died).
 * - `READER_OVERFLOW`: a reader of a resumable stream fell behind its bound and was cut; it
 *   resumes from its last id.
 * - `GENERATION_GONE`: the generation being read is no longer in the store (expired, replaced).
 * - `STREAM_CONFLICT`: a start found the stream id running and its policy is `conflict`.
 * - `PRODUCER_FAILED`: a resumable generation ended because its producer threw.
 * - `DRAINING`: the server is draining (see `drain()`): a new stream is refused with `503`, an open
 *   one is ended with an `ssekit.drain` event; the abort reason handed to producers.
 * - `STREAM_LIMIT`: a stream limit was reached: too many concurrent streams (a `429`), or a stream
 *   reached its `maxLifetime` or `maxIdle` and was ended with an `ssekit.limit` event.
 * - `STOPPED`: the stream was stopped on purpose (a resumable stream's stop, from any instance).
 */
export type SseErrorCode =
  | 'INVALID_EVENT'
  | 'INVALID_ID'
  | 'INVALID_RETRY'
  | 'INVALID_DATA'
  | 'UNSERIALIZABLE_DATA'
  | 'INVALID_OPTION'
  | 'QUEUE_OVERFLOW'
  | 'DOCUMENT_TOO_LARGE'
  | 'CLIENT_GONE'
  | 'UPSTREAM_ERROR'
  | 'INVALID_BODY'
  | 'BODY_TOO_LARGE'
  | 'HTTP_ERROR'
  | 'BAD_CONTENT_TYPE'
  | 'SERVER_ERROR'
  | 'STREAM_CUT'
  | 'EVENT_TOO_LARGE'
  | 'STORE_FENCED'
  | 'STORE_UNAVAILABLE'
  | 'PRODUCER_LOST'
  | 'READER_OVERFLOW'
  | 'GENERATION_GONE'
  | 'STREAM_CONFLICT'
  | 'PRODUCER_FAILED'
  | 'DRAINING'
  | 'STREAM_LIMIT'
  | 'STOPPED';

const brand = Symbol.for('ssekit.SseError');

/**
 * The one error class ssekit throws: a string-literal {@link SseErrorCode}, the offending `field`
 * where there is one, and the underlying `cause`.
 *
 * @example Telling a refused event apart
 * ```ts
 * import { formatEvent, isSseError } from 'ssekit';
 *
 * try {
 *   formatEvent('hi', { event: 'a\nb' });
 * } catch (error) {
 *   if (isSseError(error)) console.log(error.code); // 'INVALID_EVENT'
 * }
 * ```
 */
export class SseError extends Error {
  /** What went wrong, as a stable string literal. */
  readonly code: SseErrorCode;
  /** The option or event field at fault, when there is one (e.g. `"id"`, `"heartbeat"`). */
  readonly field: string | undefined;
  /**
   * What the other end said, when the error reports an `event: error` frame it received (its data,
   * parsed as JSON when it is JSON); `undefined` otherwise.
   */
  readonly data: unknown;

  /**
   * @param code - the problem
   * @param message - a sentence for developers; never sent to clients
   * @param options - the `field` at fault, the underlying `cause`, and the `data` of an error
   *   frame received
   */
  constructor(
    code: SseErrorCode,
    message: string,
    options: { field?: string; cause?: unknown; data?: unknown } = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
    this.name = 'SseError';
    this.code = code;
    this.field = options.field;
    this.data = options.data;
    Object.defineProperty(this, brand, { value: true });
  }
}

/**
 * Whether `value` is an {@link SseError}, also across realms and duplicated package copies.
 *
 * @example Guarding an onError hook
 * ```ts
 * import { isSseError } from 'ssekit';
 *
 * const onError = (error: unknown) => {
 *   if (isSseError(error) && error.code === 'QUEUE_OVERFLOW') console.warn('slow client');
 * };
 * ```
 */
export function isSseError(value: unknown): value is SseError {
  return (
    value instanceof SseError ||
    (typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true)
  );
}
