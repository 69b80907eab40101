import { describe, expect, it } from 'vitest';
import { formatEvent, isSseError } from '../src/index.js';

describe('formatEvent', () => {
  it('keeps a leading space after the one separator space', () => {
    expect(formatEvent(' world')).toBe('data:  world\n\n');
  });

  it('splits CR, LF and CRLF into one data line each', () => {
    expect(formatEvent('a\rb\nc\r\nd')).toBe('data: a\ndata: b\ndata: c\ndata: d\n\n');
  });

  it('refuses a line break in an event name with INVALID_EVENT', () => {
    let caught: unknown;
    try {
      formatEvent('x', { event: 'a\nb' });
    } catch (error) {
      caught = error;
    }
    expect(isSseError(caught) && caught.code).toBe('INVALID_EVENT');
  });
});
