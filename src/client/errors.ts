/**
 * The client's error: an {@link SseError} with what the server answered.
 * @module
 */
import { SseError, type SseErrorCode } from '../errors.js';

/**
 * The codes the client raises: `HTTP_ERROR`, `BAD_CONTENT_TYPE`, `SERVER_ERROR`, `STREAM_CUT`,
 * `EVENT_TOO_LARGE`, `INVALID_DATA` (an NDJSON line that is not JSON) and `INVALID_OPTION`.
 *
 * @example Switching on the code
 * ```ts
 * import type { SseClientErrorCode } from 'ssekit/client';
 *
 * const retryable = (code: SseClientErrorCode): boolean => code === 'STREAM_CUT';
 * ```
 */
export type SseClientErrorCode = Extract<
  SseErrorCode,
  | 'HTTP_ERROR'
  | 'BAD_CONTENT_TYPE'
  | 'SERVER_ERROR'
  | 'STREAM_CUT'
  | 'EVENT_TOO_LARGE'
  | 'INVALID_DATA'
  | 'INVALID_OPTION'
>;

/** What an {@link SseClientError} carries besides its code and message. */
export interface SseClientErrorDetails {
  /** The option at fault, for `INVALID_OPTION`. */
  field?: string | undefined;
  /** The underlying error: a network failure, a parse error. */
  cause?: unknown;
  /** The response at fault, for `HTTP_ERROR` and `BAD_CONTENT_TYPE`. */
  response?: Response | undefined;
  /** The body text of a non-2xx answer. */
  body?: string | undefined;
  /** The data of the server's `event: error` frame (parsed as JSON when it is JSON). */
  data?: unknown;
}

/**
 * An error of `ssekit/client`: a non-2xx answer (`HTTP_ERROR`, with `status` and the `body`
 * text), a wrong `Content-Type` (`BAD_CONTENT_TYPE`), the server's `event: error` frame
 * (`SERVER_ERROR`, with its `data`), a stream cut that could not be resumed (`STREAM_CUT`, the
 * last failure as `cause`). `isSseError()` recognises it.
 *
 * @example Showing what the server said
 * ```ts
 * import { connect, SseClientError } from 'ssekit/client';
 *
 * try {
 *   for await (const { data } of connect('/api/chat', { json: { prompt: 'Hi' } })) console.log(data);
 * } catch (error) {
 *   if (error instanceof SseClientError && error.code === 'HTTP_ERROR') console.log(error.status, error.body);
 *   else if (error instanceof SseClientError && error.code === 'SERVER_ERROR') console.log(error.data);
 *   else throw error;
 * }
 * ```
 */
export class SseClientError extends SseError {
  declare readonly code: SseClientErrorCode;
  /** The response's status, when a response is at fault. */
  readonly status: number | undefined;
  /** The response at fault (`HTTP_ERROR`, `BAD_CONTENT_TYPE`); its body has been read or cancelled. */
  readonly response: Response | undefined;
  /** The body text of a non-2xx answer. */
  readonly body: string | undefined;

  /**
   * @param code - the problem
   * @param message - a sentence for developers
   * @param details - the response, body, data, field or cause
   */
  constructor(code: SseClientErrorCode, message: string, details: SseClientErrorDetails = {}) {
    const { field, cause } = details;
    // `data` (the server's `event: error` frame) is SseError's own.
    super(code, message, {
      ...(field === undefined ? {} : { field }),
      ...('cause' in details ? { cause } : {}),
      data: details.data,
    });
    this.name = 'SseClientError';
    this.response = details.response;
    this.status = details.response?.status;
    this.body = details.body;
  }
}
