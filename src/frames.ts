/**
 * Frame formats: how each event is framed for one endpoint, and its `Content-Type`.
 * @module
 */
import { SseError } from './errors.js';
import {
  type EventFields,
  formatComment,
  formatEvent,
  hasLineBreak,
  serializeData,
} from './format.js';

/**
 * How one endpoint frames its events. ssekit ships {@link sseFormat} (the default),
 * {@link rawFormat}, {@link ndjsonFormat} and {@link customFormat}; a format is an object with
 * these three members, so other framings can be added without touching the core.
 */
export interface FrameFormat {
  /** The response's `Content-Type`. */
  readonly contentType: string;
  /**
   * Encodes one event into the text that is written.
   * @throws {@link SseError} when the event cannot be carried by this format.
   */
  event(data: unknown, fields: EventFields | undefined): string;
  /** Encodes a comment (heartbeats, the opening comment); `undefined` when the format has none. */
  comment(text: string): string | undefined;
}

/**
 * The Server-Sent Events format of the HTML standard: `event:`, `id:`, `retry:`, one `data:` line
 * per line of data, and a blank line. `Content-Type: text/event-stream` without a charset
 * parameter, since Postman's SSE view does not recognise `; charset=utf-8`.
 *
 * @example The default format
 * ```ts
 * import { sseFormat } from 'ssekit';
 *
 * sseFormat.event('Hi', { event: 'token' }); // 'event: token\ndata: Hi\n\n'
 * ```
 */
export const sseFormat: FrameFormat = {
  contentType: 'text/event-stream',
  event: formatEvent,
  comment: formatComment,
};

const noComment = (): undefined => undefined;

/**
 * A raw chunked text stream, as the GitLab AI Gateway streams an answer: each event's data
 * (strings as they are, other values as JSON) and nothing else. Event fields and comments
 * (so heartbeats) are not sent. `Content-Type: text/plain; charset=utf-8`.
 *
 * @example A bare token
 * ```ts
 * import { rawFormat } from 'ssekit';
 *
 * rawFormat.event(' world', undefined); // ' world'
 * ```
 */
export const rawFormat: FrameFormat = {
  contentType: 'text/plain; charset=utf-8',
  event: (data) => serializeData(data),
  comment: noComment,
};

/**
 * Newline-delimited JSON: every event's data as one line of JSON (strings too, as JSON strings).
 * Event fields and comments are not sent. `Content-Type: application/x-ndjson`.
 *
 * @example One JSON line per event
 * ```ts
 * import { ndjsonFormat } from 'ssekit';
 *
 * ndjsonFormat.event({ token: 'Hi' }, undefined); // '{"token":"Hi"}\n'
 * ```
 */
export const ndjsonFormat: FrameFormat = {
  contentType: 'application/x-ndjson',
  event: (data) => {
    if (data === undefined) {
      throw new SseError('INVALID_DATA', '`data` must not be undefined in NDJSON', {
        field: 'data',
      });
    }
    return serializeData(typeof data === 'string' ? JSON.stringify(data) : data) + '\n';
  },
  comment: noComment,
};

/** Options of {@link customFormat}. */
export interface CustomFormatOptions {
  /** Written before each event's data. @defaultValue `''` */
  prefix?: string;
  /** Written after each event's data. @defaultValue `''` */
  suffix?: string;
  /** The response's `Content-Type`. @defaultValue `'text/plain; charset=utf-8'` */
  contentType?: string;
}

/**
 * A format with your own prefix and suffix around each event's data (strings as they are, other
 * values as compact JSON), the `body_prefix`/`body_suffix` of lanarky, made safe: when the prefix
 * or suffix holds a line break the framing is line-based, so data holding CR or LF is refused
 * with `INVALID_DATA` (send JSON, which escapes them, or use {@link sseFormat}); otherwise data
 * holding the suffix, or ending in a way that runs into it (`'a|'` before the suffix `'||'`), is
 * refused. Fields and comments are not sent.
 *
 * @throws {@link SseError} `INVALID_OPTION` when an option is not a string.
 *
 * @example Lines of token= text
 * ```ts
 * import { customFormat } from 'ssekit';
 *
 * const lines = customFormat({ prefix: 'token=', suffix: '\n' });
 * lines.event('Hi', undefined); // 'token=Hi\n'
 * ```
 */
export function customFormat(options: CustomFormatOptions): FrameFormat {
  const { prefix = '', suffix = '', contentType = 'text/plain; charset=utf-8' } = options;
  for (const [field, value] of Object.entries({ prefix, suffix, contentType })) {
    if (typeof value !== 'string') {
      throw new SseError(
        'INVALID_OPTION',
        `\`${field}\` must be a string, received ${typeof value}`,
        {
          field,
        },
      );
    }
  }
  const lineBased = hasLineBreak(prefix) || hasLineBreak(suffix);
  return {
    contentType,
    event: function customEvent(data) {
      const text = serializeData(data);
      // Not line-based: the suffix must first occur right after the data, so `'a|'` with the
      // suffix `'||'` ('a|||') is refused too; a reader splitting on the suffix would cut it early.
      const breaksFraming = lineBased
        ? hasLineBreak(text)
        : suffix !== '' && (text + suffix).indexOf(suffix) !== text.length;
      if (breaksFraming) {
        throw new SseError(
          'INVALID_DATA',
          lineBased
            ? '`data` holds a line break, which this line-based custom format cannot carry; send JSON or use the SSE format'
            : `\`data\` holds (or runs into) the format's suffix ${JSON.stringify(suffix)}`,
          { field: 'data' },
        );
      }
      return prefix + text + suffix;
    },
    comment: noComment,
  };
}

/** A frame format by name, or a {@link FrameFormat} object. */
export type FormatOption = 'sse' | 'raw' | 'ndjson' | FrameFormat;

/**
 * Resolves a {@link FormatOption} to its {@link FrameFormat}.
 *
 * @throws {@link SseError} `INVALID_OPTION` for an unknown name or a malformed object.
 *
 * @example A format chosen by name
 * ```ts
 * import { resolveFormat } from 'ssekit';
 *
 * resolveFormat('ndjson').contentType; // 'application/x-ndjson'
 * ```
 */
export function resolveFormat(format: FormatOption): FrameFormat {
  if (format === 'sse') return sseFormat;
  if (format === 'raw') return rawFormat;
  if (format === 'ndjson') return ndjsonFormat;
  if (
    typeof format === 'object' &&
    format !== null &&
    typeof format.event === 'function' &&
    typeof format.comment === 'function' &&
    typeof format.contentType === 'string'
  ) {
    return format;
  }
  throw new SseError(
    'INVALID_OPTION',
    `\`format\` must be 'sse', 'raw', 'ndjson' or a FrameFormat object, received ${JSON.stringify(format) ?? typeof format}`,
    { field: 'format' },
  );
}
