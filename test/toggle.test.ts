/**
 * The stream toggle's default rule (src/toggle.ts): one reading of the `stream` flag for every
 * adapter (issue 8, item 9).
 */
import { parseStreamFlag, streamRequested } from 'ssekit';
import { describe, expect, it } from 'vitest';

describe('streamRequested', () => {
  it('reads the body field first, then the query, then streams', () => {
    expect(streamRequested({ stream: 'False' }, 'true')).toBe(false);
    expect(streamRequested({ prompt: 'hi' }, '0')).toBe(false);
    expect(streamRequested(undefined, undefined)).toBe(true);
  });

  it('reads a query given as an array of one value as that value', () => {
    expect(streamRequested(undefined, ['false'])).toBe(false);
    expect(streamRequested(undefined, ['1'])).toBe(true);
  });

  it('reads a repeated query parameter as saying nothing, whatever its values', () => {
    for (const query of [['false', 'true'], ['0', '0'], ['true', 'false'], []]) {
      expect(streamRequested(undefined, query), query.join('&')).toBe(true);
    }
    // The body still decides.
    expect(streamRequested({ stream: false }, ['false', 'true'])).toBe(false);
  });

  it('reads an array in the body field as saying nothing', () => {
    expect(streamRequested({ stream: [false] }, undefined)).toBe(true);
  });
});

describe('parseStreamFlag', () => {
  it('knows the spellings of true and false, and nothing else', () => {
    for (const value of [true, 1, 'true', 'True', '1']) expect(parseStreamFlag(value)).toBe(true);
    for (const value of [false, 0, 'false', 'False', '0'])
      expect(parseStreamFlag(value)).toBe(false);
    for (const value of [undefined, null, '', 'yes', ['1'], {}]) {
      expect(parseStreamFlag(value)).toBeUndefined();
    }
  });
});
