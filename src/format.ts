/**
 * The SSE wire format: the only code in ssekit that writes `event:`, `id:`, `retry:`, `data:`
 * and comment lines. Pure functions, no I/O.
 *
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 * @module
 */
import { SseError } from './errors.js';

/**
 * The optional fields of one event.
 *
 * Unknown keys are ignored, so the writer's `send` can be handed to callback APIs that pass
 * extra arguments (LangChain's `handleLLMNewToken(token, idx)`).
 */
export interface EventFields {
  /** The event type (`event:`); a client's `addEventListener(name)` receives it. No CR, LF or lone surrogate. */
  event?: string | undefined;
  /**
   * The event id (`id:`), stored by the client as Last-Event-ID. No CR, LF, NUL or lone surrogate. An empty
   * string is sent and resets the client's Last-Event-ID; `undefined` sends no `id` line.
   */
  id?: string | number | undefined;
  /** The client's reconnection delay in milliseconds (`retry:`): a non-negative integer. */
  retry?: number | undefined;
}

const LINE_BREAK = /\r\n|\r|\n/g;
const EVENT_FORBIDDEN = /[\r\n]/;
const ID_FORBIDDEN = /[\r\n\0]/;
// Half of a UTF-16 pair: UTF-8 cannot carry it, so the encoder would send U+FFFD and two
// different names or ids (`'k\uD800'`, `'k\uDBFF'`) would arrive as one (issue 8, item 6).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Turns event data into the text that is sent: a string as it is, any other value as compact
 * JSON (UTF-8, non-ASCII not escaped).
 *
 * Lone surrogates, which UTF-8 cannot carry, are the one lossy case: inside a string they are
 * replaced with U+FFFD when the frame is encoded; inside a JSON value they are escaped as
 * `\udXXX` by `JSON.stringify` and so arrive intact after `JSON.parse`.
 *
 * @throws {@link SseError} `UNSERIALIZABLE_DATA` for BigInt, cycles, throwing `toJSON`, and
 *   values JSON has no text for (`undefined`, functions, symbols).
 *
 * @example Strings pass through, objects become JSON
 * ```ts
 * import { serializeData } from 'ssekit';
 *
 * serializeData(' world'); // ' world'
 * serializeData({ token: 'é' }); // '{"token":"é"}'
 * ```
 */
export function serializeData(data: unknown): string {
  if (typeof data === 'string') return data;
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw new SseError(
      'UNSERIALIZABLE_DATA',
      `\`data\` cannot be serialised as JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
      { field: 'data', cause },
    );
  }
  if (json === undefined) {
    throw new SseError(
      'UNSERIALIZABLE_DATA',
      `\`data\` of type ${typeof data} has no JSON representation; send a string or a JSON value`,
      { field: 'data' },
    );
  }
  return json;
}

/**
 * Whether `text` holds a CR or LF.
 *
 * @example Checking text before framing it
 * ```ts
 * import { hasLineBreak } from 'ssekit';
 *
 * hasLineBreak('a\r\nb'); // true
 * ```
 */
export function hasLineBreak(text: string): boolean {
  // LLM tokens are a few characters: for those a char-code scan beats two includes() calls
  // (bench/format.ts); long text keeps the native search.
  const length = text.length;
  if (length > 32) return text.includes('\n') || text.includes('\r');
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code === 10 || code === 13) return true;
  }
  return false;
}

/**
 * Formats the `event:`, `id:` and `retry:` lines of one frame (no data, no terminator).
 *
 * @throws {@link SseError} `INVALID_EVENT`, `INVALID_ID` or `INVALID_RETRY`.
 *
 * @example The field lines of a named event
 * ```ts
 * import { formatFields } from 'ssekit';
 *
 * formatFields({ event: 'token', id: '7' }); // 'event: token\nid: 7\n'
 * ```
 */
export function formatFields(fields: EventFields): string {
  if (typeof fields !== 'object' || fields === null) {
    throw new SseError(
      'INVALID_OPTION',
      `event fields must be an object, received ${typeof fields}`,
      {
        field: 'fields',
      },
    );
  }
  let head = '';
  const { event, id, retry } = fields;
  if (event !== undefined) {
    if (typeof event !== 'string') {
      throw new SseError('INVALID_EVENT', `\`event\` must be a string, received ${typeof event}`, {
        field: 'event',
      });
    }
    if (EVENT_FORBIDDEN.test(event)) {
      throw new SseError(
        'INVALID_EVENT',
        `\`event\` must not contain CR or LF: ${JSON.stringify(event)}`,
        {
          field: 'event',
        },
      );
    }
    if (LONE_SURROGATE.test(event)) {
      throw new SseError(
        'INVALID_EVENT',
        `\`event\` must not contain a lone surrogate (UTF-8 cannot carry it): ${JSON.stringify(event)}`,
        { field: 'event' },
      );
    }
    head += 'event: ' + event + '\n';
  }
  if (id !== undefined) {
    const text = typeof id === 'number' && Number.isFinite(id) ? String(id) : id;
    if (typeof text !== 'string') {
      throw new SseError(
        'INVALID_ID',
        `\`id\` must be a string or finite number, received ${String(id)}`,
        {
          field: 'id',
        },
      );
    }
    if (ID_FORBIDDEN.test(text)) {
      throw new SseError(
        'INVALID_ID',
        `\`id\` must not contain CR, LF or NUL: ${JSON.stringify(text)}`,
        {
          field: 'id',
        },
      );
    }
    if (LONE_SURROGATE.test(text)) {
      throw new SseError(
        'INVALID_ID',
        `\`id\` must not contain a lone surrogate (UTF-8 cannot carry it): ${JSON.stringify(text)}`,
        { field: 'id' },
      );
    }
    head += 'id: ' + text + '\n';
  }
  if (retry !== undefined) head += formatRetryLine(retry);
  return head;
}

function formatRetryLine(retry: unknown): string {
  if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
    throw new SseError(
      'INVALID_RETRY',
      `\`retry\` must be a non-negative integer number of milliseconds, received ${String(retry)}`,
      { field: 'retry' },
    );
  }
  return 'retry: ' + String(retry) + '\n';
}

/**
 * Splits already-serialised text into `data:` lines, one per line of the text, with exactly one
 * space after the colon and nothing stripped.
 *
 * @example Multi-line data
 * ```ts
 * import { formatDataLines } from 'ssekit';
 *
 * formatDataLines('a\r\nb'); // 'data: a\ndata: b\n'
 * ```
 */
export function formatDataLines(text: string): string {
  return hasLineBreak(text)
    ? 'data: ' + text.replace(LINE_BREAK, '\ndata: ') + '\n'
    : 'data: ' + text + '\n';
}

/**
 * Formats one complete SSE event: optional fields, the data lines, and the blank line that
 * dispatches it.
 *
 * @param data - a string (sent as it is) or any JSON value (sent as compact JSON)
 * @param fields - optional `event`, `id` and `retry`
 * @throws {@link SseError} before anything is produced, for any field or value that cannot be sent.
 *
 * @example A named event with an id
 * ```ts
 * import { formatEvent } from 'ssekit';
 *
 * formatEvent({ token: 'Hi' }, { event: 'token', id: '1' });
 * // 'event: token\nid: 1\ndata: {"token":"Hi"}\n\n'
 * ```
 */
export function formatEvent(data: unknown, fields?: EventFields): string {
  const head = fields === undefined ? '' : formatFields(fields);
  if (typeof data === 'string') {
    return hasLineBreak(data)
      ? head + 'data: ' + data.replace(LINE_BREAK, '\ndata: ') + '\n\n'
      : head + 'data: ' + data + '\n\n';
  }
  // JSON text never holds a raw CR or LF (they are escaped), so it is always one line.
  return head + 'data: ' + serializeData(data) + '\n\n';
}

/**
 * Formats a comment: one `:` line per line of `text`, ignored by every SSE client. Used for
 * heartbeats and the opening comment.
 *
 * @example A heartbeat comment
 * ```ts
 * import { formatComment } from 'ssekit';
 *
 * formatComment('keep-alive'); // ': keep-alive\n\n'
 * ```
 */
export function formatComment(text: string): string {
  if (typeof text !== 'string') {
    throw new SseError('INVALID_OPTION', `a comment must be a string, received ${typeof text}`, {
      field: 'comment',
    });
  }
  if (text === '') return ':\n\n';
  return ': ' + text.replace(LINE_BREAK, '\n: ') + '\n\n';
}

/**
 * Formats a frame that only sets the client's reconnection delay.
 *
 * @throws {@link SseError} `INVALID_RETRY`.
 *
 * @example Slowing reconnects down
 * ```ts
 * import { formatRetry } from 'ssekit';
 *
 * formatRetry(3000); // 'retry: 3000\n\n'
 * ```
 */
export function formatRetry(milliseconds: number): string {
  return formatRetryLine(milliseconds) + '\n';
}
