/**
 * Round trips through someone else's parser: frames made by ssekit, encoded as UTF-8, cut at
 * random byte offsets (through multi-byte characters and CRLF pairs), decoded by a streaming
 * TextDecoder and fed to eventsource-parser. Expectations are computed by hand from the input,
 * never by calling the formatter.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EventFields, formatEvent, isSseError, sseEvent, toSseStream } from '../src/index.js';

const NUM_RUNS = 150;

/** Characters that break naive SSE code, plus lone surrogate halves. */
const HOSTILE = [
  '\r',
  '\n',
  '\r\n',
  '\n\r',
  '\0',
  '\uFEFF',
  '\u2028',
  '\u2029',
  '\u0085',
  ' ',
  '  ',
  ':',
  'data: ',
  'event: x',
  'id: 1',
  'retry: 1',
  'é',
  '😀',
  '\uD800',
  '\uDBFF',
  '\uDC00',
  '\uDFFF',
];

const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
  },
);
const hostileString = fc.string({ unit, maxLength: 40 });

/** What an SSE client sees for a string: every line break as LF, lone surrogates as U+FFFD. */
function asReceived(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x0d) {
      out += '\n';
      if (text.charCodeAt(i + 1) === 0x0a) i++;
    } else if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text.slice(i, i + 2);
        i++;
      } else out += '\uFFFD';
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      out += '\uFFFD';
    } else out += text[i];
  }
  return out;
}

/** What a JSON value parses back to: the same, except that JSON has no -0. */
function asParsed(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(asParsed);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, asParsed(item)]));
  }
  return value;
}

function hasChar(text: string, chars: string): boolean {
  for (const char of chars) if (text.includes(char)) return true;
  return false;
}

/** Cuts `bytes` at the given offsets (any order, duplicates allowed). */
function rechunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  chunks.push(bytes.subarray(start));
  return chunks;
}

interface Parsed {
  events: EventSourceMessage[];
  problems: string[];
}

/** Decodes the chunks with a streaming TextDecoder and parses them with eventsource-parser. */
function parse(chunks: Iterable<Uint8Array>): Parsed {
  const events: EventSourceMessage[] = [];
  const problems: string[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onError: (error) => problems.push(`error: ${error.message}`),
    onRetry: (retry) => problems.push(`retry: ${retry}`),
    onComment: (comment) => problems.push(`comment: ${comment}`),
  });
  const decoder = new TextDecoder();
  for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
  return { events, problems };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

type Input =
  | { kind: 'text'; data: string; fields: EventFields }
  | { kind: 'json'; data: unknown; fields: EventFields };

/** Whether a string has half of a UTF-16 pair: UTF-8 cannot carry it. */
function hasLoneSurrogate(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return true;
    } else if (code >= 0xdc00 && code <= 0xdfff) return true;
  }
  return false;
}

const validEvent = hostileString.filter(
  (name) => !hasChar(name, '\r\n') && !hasLoneSurrogate(name),
);
const validId = hostileString.filter((id) => !hasChar(id, '\r\n\0') && !hasLoneSurrogate(id));
const fieldsArb: fc.Arbitrary<EventFields> = fc.record(
  { event: validEvent, id: fc.oneof(validId, fc.integer({ min: 0 })) },
  { requiredKeys: [] },
);
const inputArb: fc.Arbitrary<Input> = fc.oneof(
  fc.record({ kind: fc.constant('text' as const), data: hostileString, fields: fieldsArb }),
  fc.record({
    kind: fc.constant('json' as const),
    data: fc.jsonValue({ stringUnit: unit, maxDepth: 3 }),
    fields: fieldsArb,
  }),
);

/** Checks that the parser saw exactly `inputs`, in order, each once, and nothing else. */
function expectDelivered(parsed: Parsed, inputs: readonly Input[]): void {
  expect(parsed.problems).toEqual([]);
  expect(parsed.events).toHaveLength(inputs.length);
  inputs.forEach((input, i) => {
    const event = parsed.events[i] as EventSourceMessage;
    // A string is sent as text (jsonValue() makes strings too); anything else as JSON.
    if (typeof input.data === 'string') expect(event.data).toBe(asReceived(input.data));
    else {
      expect(event.data).not.toMatch(/[\r\n]/);
      expect(JSON.parse(event.data)).toStrictEqual(asParsed(input.data));
    }
    const { event: name, id } = input.fields;
    // eventsource-parser reports an empty or absent `event:` as undefined (clients see `message`).
    expect(event.event).toBe(name === undefined || name === '' ? undefined : asReceived(name));
    expect(event.id).toBe(id === undefined ? undefined : asReceived(String(id)));
  });
}

const encoder = new TextEncoder();

describe('round trip through eventsource-parser', () => {
  it('delivers every event once, unchanged and in order, however the bytes are cut', () => {
    fc.assert(
      fc.property(
        fc.array(inputArb, { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (inputs, cuts) => {
          const bytes = concat(
            inputs.map((input) => encoder.encode(formatEvent(input.data, input.fields))),
          );
          expectDelivered(parse(rechunk(bytes, cuts)), inputs);
        },
      ),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses exactly the names and ids that cannot arrive unchanged, and delivers the rest as sent', () => {
    fc.assert(
      fc.property(
        hostileString,
        fc.constantFrom('event' as const, 'id' as const),
        (text, field) => {
          const unsendable =
            hasChar(text, field === 'id' ? '\r\n\0' : '\r\n') || hasLoneSurrogate(text);
          let frame: string;
          try {
            frame = formatEvent('x', { [field]: text });
          } catch (error) {
            expect(unsendable, `refused ${JSON.stringify(text)}`).toBe(true);
            expect(isSseError(error) && error.code).toBe(
              field === 'id' ? 'INVALID_ID' : 'INVALID_EVENT',
            );
            return;
          }
          expect(unsendable, `accepted ${JSON.stringify(text)}`).toBe(false);
          const { events } = parse([encoder.encode(frame)]);
          const received = field === 'id' ? events[0]?.id : (events[0]?.event ?? '');
          expect(received).toBe(text);
        },
      ),
      { numRuns: NUM_RUNS * 5 },
    );
  });

  it('delivers every event when the bytes arrive one at a time', () => {
    fc.assert(
      fc.property(fc.array(inputArb, { minLength: 1, maxLength: 4 }), (inputs) => {
        const bytes = concat(
          inputs.map((input) => encoder.encode(formatEvent(input.data, input.fields))),
        );
        const singles = Array.from(bytes, (_byte, i) => bytes.subarray(i, i + 1));
        expectDelivered(parse(singles), inputs);
      }),
      { numRuns: 50 },
    );
  });

  it('delivers what the stream engine sends through toSseStream', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(inputArb, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (inputs, cuts) => {
          const stream = toSseStream(
            inputs.map((input) => sseEvent(input.data, input.fields)),
            { heartbeat: false },
          );
          const parts: Uint8Array[] = [];
          for await (const part of stream) parts.push(part);
          expectDelivered(parse(rechunk(concat(parts), cuts)), inputs);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('delivers 1 MiB tokens of hostile text, cut anywhere', () => {
    const pattern = 'a\r\nb\rc\n é😀\uD800\0\uFEFF\u2028 :data: x\uDC00';
    const huge = pattern.repeat(Math.ceil((1024 * 1024) / pattern.length));
    fc.assert(
      fc.property(
        fc.array(fc.nat({ max: 4 * 1024 * 1024 }), { minLength: 1, maxLength: 60 }),
        (cuts) => {
          const inputs: Input[] = [
            { kind: 'text', data: huge, fields: { event: 'big', id: '1' } },
            { kind: 'text', data: ' after', fields: {} },
            { kind: 'json', data: { token: huge }, fields: { id: '' } },
          ];
          const bytes = concat(
            inputs.map((input) => encoder.encode(formatEvent(input.data, input.fields))),
          );
          expectDelivered(parse(rechunk(bytes, cuts)), inputs);
        },
      ),
      { numRuns: 3 },
    );
  });

  it('refuses every event name holding CR or LF, so no field can be forged', () => {
    fc.assert(
      fc.property(hostileString, fc.constantFrom('\r', '\n', '\r\n'), hostileString, (a, br, b) => {
        const event = a + br + b;
        let code: string | undefined;
        try {
          formatEvent('x', { event });
        } catch (error) {
          code = isSseError(error) ? error.code : 'other';
        }
        expect(code).toBe('INVALID_EVENT');
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('refuses every id holding CR, LF or NUL', () => {
    fc.assert(
      fc.property(hostileString, fc.constantFrom('\r', '\n', '\0'), hostileString, (a, bad, b) => {
        let code: string | undefined;
        try {
          formatEvent('x', { id: a + bad + b });
        } catch (error) {
          code = isSseError(error) ? error.code : 'other';
        }
        expect(code).toBe('INVALID_ID');
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
