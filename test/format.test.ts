import { describe, expect, it } from 'vitest';
import {
  type EventFields,
  formatComment,
  formatDataLines,
  formatEvent,
  formatFields,
  formatRetry,
  hasLineBreak,
  isSseError,
  serializeData,
  SseError,
  type SseErrorCode,
} from '../src/index.js';

/** Runs `fn` and returns the SseError it throws; fails the test when it throws anything else. */
function refusal(fn: () => unknown): SseError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  if (!isSseError(caught)) throw new Error(`expected an SseError, got ${String(caught)}`);
  return caught;
}

function expectRefused(fn: () => unknown, code: SseErrorCode, field: string): void {
  const error = refusal(fn);
  expect(error).toBeInstanceOf(SseError);
  expect(error.code).toBe(code);
  expect(error.field).toBe(field);
}

describe('data', () => {
  it('sends a plain token as one data line and a blank line', () => {
    expect(formatEvent('Hello')).toBe('data: Hello\n\n');
  });

  it('keeps a leading space after the one separator space', () => {
    expect(formatEvent(' world')).toBe('data:  world\n\n');
  });

  it('keeps trailing spaces and tabs', () => {
    expect(formatEvent('a \t')).toBe('data: a \t\n\n');
  });

  it('sends an empty string as one empty data line, so the client still gets an event', () => {
    expect(formatEvent('')).toBe('data: \n\n');
  });

  it('sends a lone LF as two empty data lines', () => {
    expect(formatEvent('\n')).toBe('data: \ndata: \n\n');
  });

  it('sends two LFs as three empty data lines', () => {
    expect(formatEvent('\n\n')).toBe('data: \ndata: \ndata: \n\n');
  });

  it('splits CR, LF and CRLF into one data line each', () => {
    expect(formatEvent('a\rb\nc\r\nd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('treats LF CR as two line breaks, not one', () => {
    expect(formatEvent('a\n\rb')).toBe('data: a\ndata: \ndata: b\n\n');
  });

  it('treats CR CR LF as two line breaks', () => {
    expect(formatEvent('a\r\r\nb')).toBe('data: a\ndata: \ndata: b\n\n');
  });

  it('keeps line breaks at the start and end of the data', () => {
    expect(formatEvent('\r\nx\r')).toBe('data: \ndata: x\ndata: \n\n');
  });

  it('keeps a colon, NUL, BOM and U+2028 in data untouched', () => {
    expect(formatEvent('a: b\0\uFEFF\u2028')).toBe('data: a: b\0\uFEFF\u2028\n\n');
  });

  it('leaves a lone surrogate in a string for the encoder, which turns it into U+FFFD', () => {
    const frame = formatEvent('a\uD800b');
    expect(frame).toBe('data: a\uD800b\n\n');
    expect(new TextDecoder().decode(new TextEncoder().encode(frame))).toBe('data: a\uFFFDb\n\n');
  });

  it('sends an object as compact JSON with non-ASCII characters unescaped', () => {
    expect(formatEvent({ token: 'é 😀', n: [1, 2] })).toBe('data: {"token":"é 😀","n":[1,2]}\n\n');
  });

  it('sends a value holding a line break as one JSON line', () => {
    expect(formatEvent({ text: 'a\nb\rc' })).toBe('data: {"text":"a\\nb\\rc"}\n\n');
  });

  it('sends numbers, booleans and null as JSON', () => {
    expect(formatEvent(42)).toBe('data: 42\n\n');
    expect(formatEvent(false)).toBe('data: false\n\n');
    expect(formatEvent(null)).toBe('data: null\n\n');
  });

  it('escapes a lone surrogate inside a JSON value, so it survives JSON.parse', () => {
    const frame = formatEvent({ s: '\uDC00' });
    expect(frame).toBe('data: {"s":"\\udc00"}\n\n');
  });

  it('uses toJSON like JSON.stringify does', () => {
    expect(formatEvent(new Date(0))).toBe('data: "1970-01-01T00:00:00.000Z"\n\n');
  });
});

describe('fields', () => {
  it('writes event, id and retry before the data, in that order', () => {
    expect(formatEvent('x', { retry: 10, id: '7', event: 'token' })).toBe(
      'event: token\nid: 7\nretry: 10\ndata: x\n\n',
    );
  });

  it('writes a numeric id as its decimal text', () => {
    expect(formatEvent('x', { id: 0 })).toBe('id: 0\ndata: x\n\n');
  });

  it('sends an empty id, which resets the client’s Last-Event-ID', () => {
    expect(formatEvent('x', { id: '' })).toBe('id: \ndata: x\n\n');
  });

  it('sends no id line when id is undefined', () => {
    expect(formatEvent('x', { id: undefined })).toBe('data: x\n\n');
  });

  it('sends retry 0', () => {
    expect(formatEvent('x', { retry: 0 })).toBe('retry: 0\ndata: x\n\n');
  });

  it('keeps a leading space in an event name and an id', () => {
    expect(formatEvent('x', { event: ' a', id: ' 1' })).toBe('event:  a\nid:  1\ndata: x\n\n');
  });

  it('ignores unknown keys, so send can be handed to callbacks with extra arguments', () => {
    const fields = { prompt: 0, completion: 1 } as EventFields;
    expect(formatEvent('x', fields)).toBe('data: x\n\n');
  });

  it('formats the field lines alone with formatFields', () => {
    expect(formatFields({ event: 'token', id: 7 })).toBe('event: token\nid: 7\n');
    expect(formatFields({})).toBe('');
  });

  it('formats data lines alone with formatDataLines', () => {
    expect(formatDataLines('a\r\nb')).toBe('data: a\ndata: b\n');
    expect(formatDataLines('')).toBe('data: \n');
  });

  it('formats a retry-only frame', () => {
    expect(formatRetry(3000)).toBe('retry: 3000\n\n');
  });
});

describe('comments', () => {
  it('writes a comment line and a blank line', () => {
    expect(formatComment('keep-alive')).toBe(': keep-alive\n\n');
  });

  it('writes an empty comment as a bare colon', () => {
    expect(formatComment('')).toBe(':\n\n');
  });

  it('writes one comment line per line of a multi-line comment', () => {
    expect(formatComment('a\nb\r\nc\rd')).toBe(': a\n: b\n: c\n: d\n\n');
  });

  it('refuses a comment that is not a string with INVALID_OPTION', () => {
    expectRefused(() => formatComment(1 as unknown as string), 'INVALID_OPTION', 'comment');
  });
});

describe('refusals', () => {
  it.each(['a\nb', 'a\rb', 'a\r\nb', '\n'])('refuses event %j with INVALID_EVENT', (event) => {
    expectRefused(() => formatEvent('x', { event }), 'INVALID_EVENT', 'event');
  });

  it.each(['k\uD800', 'k\uDBFF', '\uDC00k', '\uDFFF', '\uD800\uD800\uDC00', 'a\uDC00\uD800b'])(
    'refuses the event %j, which holds a lone surrogate, with INVALID_EVENT',
    (event) => {
      expectRefused(() => formatEvent('x', { event }), 'INVALID_EVENT', 'event');
    },
  );

  it.each(['k\uD800', 'k\uDBFF', '\uDC00k', '\uDFFF', '\uD800\uD800\uDC00', 'a\uDC00\uD800b'])(
    'refuses the id %j, which holds a lone surrogate, with INVALID_ID',
    (id) => {
      expectRefused(() => formatEvent('x', { id }), 'INVALID_ID', 'id');
    },
  );

  it('keeps names and ids with whole surrogate pairs', () => {
    expect(formatEvent('x', { event: 'k\uD83D\uDE00', id: '\uD83D\uDE00' })).toBe(
      'event: k\uD83D\uDE00\nid: \uD83D\uDE00\ndata: x\n\n',
    );
  });

  it('refuses an event name that is not a string with INVALID_EVENT', () => {
    expectRefused(
      () => formatEvent('x', { event: 1 as unknown as string }),
      'INVALID_EVENT',
      'event',
    );
  });

  it.each(['a\nb', 'a\rb', 'a\0b', '\0'])('refuses id %j with INVALID_ID', (id) => {
    expectRefused(() => formatEvent('x', { id }), 'INVALID_ID', 'id');
  });

  it.each([NaN, Infinity, -Infinity])('refuses the numeric id %s with INVALID_ID', (id) => {
    expectRefused(() => formatEvent('x', { id }), 'INVALID_ID', 'id');
  });

  it('refuses an id that is neither a string nor a number with INVALID_ID', () => {
    expectRefused(() => formatEvent('x', { id: {} as unknown as string }), 'INVALID_ID', 'id');
  });

  it.each([-1, 1.5, NaN, Infinity, 2 ** 53, '3', null])(
    'refuses retry %j with INVALID_RETRY',
    (retry) => {
      expectRefused(() => formatEvent('x', { retry: retry as number }), 'INVALID_RETRY', 'retry');
      expectRefused(() => formatRetry(retry as number), 'INVALID_RETRY', 'retry');
    },
  );

  it('refuses a BigInt with UNSERIALIZABLE_DATA and keeps the cause', () => {
    const error = refusal(() => formatEvent({ n: 1n }));
    expect(error.code).toBe('UNSERIALIZABLE_DATA');
    expect(error.field).toBe('data');
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it('refuses a cycle with UNSERIALIZABLE_DATA', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expectRefused(() => formatEvent(cycle), 'UNSERIALIZABLE_DATA', 'data');
  });

  it('refuses a value whose toJSON throws with UNSERIALIZABLE_DATA and keeps the cause', () => {
    const boom = new Error('boom');
    const error = refusal(() =>
      formatEvent({
        toJSON() {
          throw boom;
        },
      }),
    );
    expect(error.code).toBe('UNSERIALIZABLE_DATA');
    expect(error.cause).toBe(boom);
  });

  it.each([
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
  ])('refuses %s, which JSON has no text for, with UNSERIALIZABLE_DATA', (_name, value) => {
    expectRefused(() => formatEvent(value), 'UNSERIALIZABLE_DATA', 'data');
  });

  it('refuses fields that are not an object with INVALID_OPTION', () => {
    expectRefused(
      () => formatEvent('x', 'token' as unknown as EventFields),
      'INVALID_OPTION',
      'fields',
    );
  });

  it('checks the fields before serialising the data', () => {
    expect(refusal(() => formatEvent(1n, { event: '\n' })).code).toBe('INVALID_EVENT');
  });
});

describe('serializeData', () => {
  it('returns a string as it is and anything else as compact JSON', () => {
    expect(serializeData(' world')).toBe(' world');
    expect(serializeData({ a: [1, { b: 'ü' }] })).toBe('{"a":[1,{"b":"ü"}]}');
  });
});

describe('hasLineBreak', () => {
  it('finds CR and LF but not U+2028 or U+0085', () => {
    expect(hasLineBreak('a\rb')).toBe(true);
    expect(hasLineBreak('a\nb')).toBe(true);
    expect(hasLineBreak('a\u2028\u2029\u0085b')).toBe(false);
  });
});
