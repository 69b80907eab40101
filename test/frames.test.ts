import { describe, expect, it } from 'vitest';
import {
  customFormat,
  type CustomFormatOptions,
  type FormatOption,
  isSseError,
  ndjsonFormat,
  rawFormat,
  resolveFormat,
  type SseErrorCode,
  sseFormat,
} from '../src/index.js';

function codeOf(fn: () => unknown): { code: SseErrorCode; field: string | undefined } {
  try {
    fn();
  } catch (error) {
    if (isSseError(error)) return { code: error.code, field: error.field };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('sse format', () => {
  it('is text/event-stream with no charset parameter', () => {
    expect(sseFormat.contentType).toBe('text/event-stream');
  });

  it('frames events and comments with the wire formatter', () => {
    expect(sseFormat.event('Hi', { event: 'token' })).toBe('event: token\ndata: Hi\n\n');
    expect(sseFormat.comment('a\nb')).toBe(': a\n: b\n\n');
  });
});

describe('raw format', () => {
  it('is text/plain in UTF-8', () => {
    expect(rawFormat.contentType).toBe('text/plain; charset=utf-8');
  });

  it('sends strings exactly as they are, leading spaces and line breaks included', () => {
    expect(rawFormat.event(' world', undefined)).toBe(' world');
    expect(rawFormat.event('a\r\nb\n', undefined)).toBe('a\r\nb\n');
  });

  it('sends other values as compact JSON', () => {
    expect(rawFormat.event({ t: 'é' }, undefined)).toBe('{"t":"é"}');
  });

  it('leaves out fields and comments', () => {
    expect(rawFormat.event('x', { event: 'token', id: '1', retry: 5 })).toBe('x');
    expect(rawFormat.comment('hi')).toBeUndefined();
  });

  it('refuses data JSON cannot serialise', () => {
    expect(codeOf(() => rawFormat.event(1n, undefined))).toEqual({
      code: 'UNSERIALIZABLE_DATA',
      field: 'data',
    });
  });
});

describe('ndjson format', () => {
  it('is application/x-ndjson', () => {
    expect(ndjsonFormat.contentType).toBe('application/x-ndjson');
  });

  it('writes every value as one line of JSON, strings as JSON strings', () => {
    expect(ndjsonFormat.event({ token: 'Hi' }, undefined)).toBe('{"token":"Hi"}\n');
    expect(ndjsonFormat.event('a\nb', undefined)).toBe('"a\\nb"\n');
    expect(ndjsonFormat.event('', undefined)).toBe('""\n');
    expect(ndjsonFormat.event(null, undefined)).toBe('null\n');
  });

  it('leaves out fields and comments', () => {
    expect(ndjsonFormat.event(1, { event: 'e', id: '1' })).toBe('1\n');
    expect(ndjsonFormat.comment('hi')).toBeUndefined();
  });

  it('refuses undefined with INVALID_DATA and a function with UNSERIALIZABLE_DATA', () => {
    expect(codeOf(() => ndjsonFormat.event(undefined, undefined))).toEqual({
      code: 'INVALID_DATA',
      field: 'data',
    });
    expect(codeOf(() => ndjsonFormat.event(() => 1, undefined)).code).toBe('UNSERIALIZABLE_DATA');
  });
});

describe('custom format', () => {
  it('wraps each event’s data in the prefix and suffix', () => {
    const lines = customFormat({ prefix: 'token=', suffix: '\n' });
    expect(lines.event('Hi', undefined)).toBe('token=Hi\n');
    expect(lines.event({ a: 1 }, { event: 'x' })).toBe('token={"a":1}\n');
  });

  it('defaults to no prefix, no suffix and text/plain in UTF-8', () => {
    const bare = customFormat({});
    expect(bare.contentType).toBe('text/plain; charset=utf-8');
    expect(bare.event(' a\nb', undefined)).toBe(' a\nb');
  });

  it('uses the given content type', () => {
    expect(customFormat({ contentType: 'application/x-tokens' }).contentType).toBe(
      'application/x-tokens',
    );
  });

  it('has no comments, so sends no heartbeats', () => {
    expect(customFormat({ suffix: '\n' }).comment('x')).toBeUndefined();
  });

  it.each(['a\nb', 'a\rb', 'a\r\n'])(
    'refuses data %j holding a line break when the framing is line-based',
    (data) => {
      const lines = customFormat({ prefix: 'data=', suffix: '\r\n' });
      expect(codeOf(() => lines.event(data, undefined))).toEqual({
        code: 'INVALID_DATA',
        field: 'data',
      });
    },
  );

  it('treats a line break in the prefix as line-based framing too', () => {
    const framed = customFormat({ prefix: '\n>' });
    expect(codeOf(() => framed.event('a\nb', undefined)).code).toBe('INVALID_DATA');
  });

  it('carries a line break inside a JSON value in line-based framing', () => {
    const lines = customFormat({ suffix: '\n' });
    expect(lines.event({ text: 'a\nb' }, undefined)).toBe('{"text":"a\\nb"}\n');
  });

  it('refuses data holding the suffix when the framing is not line-based', () => {
    const framed = customFormat({ prefix: '<', suffix: '>|' });
    expect(codeOf(() => framed.event('a>|b', undefined))).toEqual({
      code: 'INVALID_DATA',
      field: 'data',
    });
    expect(framed.event('a>b|', undefined)).toBe('<a>b|>|');
  });

  it('refuses data whose end runs into the suffix, which a reader would split early', () => {
    // 'a|' + '||' is 'a|||': a reader that splits on '||' would see 'a' and a stray '|'.
    const framed = customFormat({ suffix: '||' });
    expect(codeOf(() => framed.event('a|', undefined)).code).toBe('INVALID_DATA');
    expect(framed.event('|a', undefined)).toBe('|a||');
  });

  it.each<[string, CustomFormatOptions]>([
    ['prefix', { prefix: 1 as unknown as string }],
    ['suffix', { suffix: null as unknown as string }],
    ['contentType', { contentType: false as unknown as string }],
  ])('refuses a %s that is not a string with INVALID_OPTION', (field, options) => {
    expect(codeOf(() => customFormat(options))).toEqual({ code: 'INVALID_OPTION', field });
  });
});

describe('resolveFormat', () => {
  it('resolves the built-in names', () => {
    expect(resolveFormat('sse')).toBe(sseFormat);
    expect(resolveFormat('raw')).toBe(rawFormat);
    expect(resolveFormat('ndjson')).toBe(ndjsonFormat);
  });

  it('returns a FrameFormat object as it is', () => {
    const format = customFormat({ suffix: '\n' });
    expect(resolveFormat(format)).toBe(format);
  });

  it.each<unknown>(['SSE', 'json', null, 42, {}, { contentType: 'x', event: () => '' }])(
    'refuses %j with INVALID_OPTION naming `format`',
    (format) => {
      expect(codeOf(() => resolveFormat(format as FormatOption))).toEqual({
        code: 'INVALID_OPTION',
        field: 'format',
      });
    },
  );
});
