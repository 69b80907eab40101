import { describe, expect, it } from 'vitest';
import {
  customFormat,
  isSseError,
  isSseEvent,
  resolveOptions,
  sseEvent,
  sseFormat,
  type SseErrorCode,
  type StreamOptions,
} from '../src/index.js';

function refusal(options: unknown): { code: SseErrorCode; field: string | undefined } {
  try {
    resolveOptions(options as StreamOptions);
  } catch (error) {
    if (isSseError(error)) return { code: error.code, field: error.field };
    throw error;
  }
  throw new Error('expected resolveOptions to refuse');
}

describe('defaults', () => {
  it('resolves to the SSE format, a 15 s heartbeat, a 1 MiB queue and the generic error event', () => {
    const config = resolveOptions();
    expect(config.format).toBe(sseFormat);
    expect(config.heartbeat).toBe(15_000);
    expect(config.heartbeatFrame).toBe(':\n\n');
    expect(config.queueLimit).toBe(1024 * 1024);
    expect(config.doneFrame).toBeUndefined();
    expect(config.openingFrame).toBeUndefined();
    expect(config.fields).toBeUndefined();
    expect(config.map).toBeUndefined();
    expect(config.onError).toBeUndefined();
    expect(config.errorEvent?.(new Error('secret'))).toEqual({
      event: 'error',
      data: { error: 'Internal Server Error' },
    });
  });
});

describe('validation', () => {
  it.each<[string, unknown]>([
    ['format', { format: 'xml' }],
    ['map', { map: 'content' }],
    ['event', { event: 1 }],
    ['done', { done: true }],
    ['done', { done: 'DONE' }],
    ['done', { done: null }],
    ['heartbeat', { heartbeat: 0 }],
    ['heartbeat', { heartbeat: -1 }],
    ['heartbeat', { heartbeat: 1.5 }],
    ['heartbeat', { heartbeat: NaN }],
    ['heartbeat', { heartbeat: true }],
    ['heartbeat', { heartbeat: '15000' }],
    ['heartbeat', { heartbeat: 2 ** 31 }],
    ['open', { open: 1 }],
    ['open', { open: null }],
    ['queueLimit', { queueLimit: 0 }],
    ['queueLimit', { queueLimit: 1.5 }],
    ['queueLimit', { queueLimit: Infinity }],
    ['errorEvent', { errorEvent: true }],
    ['errorEvent', { errorEvent: {} }],
    ['onError', { onError: 'log' }],
  ])('refuses a bad `%s` with INVALID_OPTION naming it', (field, options) => {
    expect(refusal(options)).toEqual({ code: 'INVALID_OPTION', field });
  });

  it('names the option in backticks and shows the received value', () => {
    expect(() => resolveOptions({ heartbeat: -5 })).toThrow(/`heartbeat`.*-5/);
  });

  it('refuses options that are not an object', () => {
    expect(refusal(null)).toEqual({ code: 'INVALID_OPTION', field: 'options' });
  });

  it('refuses an event name with a line break when the endpoint is created', () => {
    expect(refusal({ event: 'a\nb' })).toEqual({ code: 'INVALID_EVENT', field: 'event' });
  });

  it('refuses a bad retry when the endpoint is created', () => {
    expect(refusal({ retry: -1 })).toEqual({ code: 'INVALID_RETRY', field: 'retry' });
    expect(refusal({ retry: 1.5 })).toEqual({ code: 'INVALID_RETRY', field: 'retry' });
  });

  it('refuses a done event that cannot be sent when the endpoint is created', () => {
    expect(refusal({ done: { data: 1n } }).code).toBe('UNSERIALIZABLE_DATA');
    expect(refusal({ done: { data: 'x', id: 'a\nb' } }).code).toBe('INVALID_ID');
  });

  it('accepts the largest heartbeat a timer can hold', () => {
    expect(resolveOptions({ heartbeat: 2 ** 31 - 1 }).heartbeat).toBe(2 ** 31 - 1);
  });
});

describe('fixed frames', () => {
  it('encodes the done frame once', () => {
    expect(resolveOptions({ done: { data: '[DONE]' } }).doneFrame).toBe('data: [DONE]\n\n');
    expect(resolveOptions({ done: { event: 'done', data: '' } }).doneFrame).toBe(
      'event: done\ndata: \n\n',
    );
  });

  it('sends no done frame for done: false', () => {
    expect(resolveOptions({ done: false }).doneFrame).toBeUndefined();
  });

  it('encodes the done frame in the endpoint’s format', () => {
    expect(resolveOptions({ format: 'ndjson', done: { data: { done: true } } }).doneFrame).toBe(
      '{"done":true}\n',
    );
  });

  it('turns heartbeats off with false', () => {
    const config = resolveOptions({ heartbeat: false });
    expect(config.heartbeat).toBe(0);
    expect(config.heartbeatFrame).toBeUndefined();
  });

  it.each(['raw', 'ndjson'] as const)('sends no heartbeat for the %s format', (format) => {
    const config = resolveOptions({ format, heartbeat: 1000 });
    expect(config.heartbeat).toBe(0);
    expect(config.heartbeatFrame).toBeUndefined();
  });

  it('sends no heartbeat for a custom format', () => {
    expect(resolveOptions({ format: customFormat({ suffix: '\n' }) }).heartbeat).toBe(0);
  });

  it('sends retry first, then the opening comment', () => {
    expect(resolveOptions({ retry: 3000, open: true }).openingFrame).toBe('retry: 3000\n\n:\n\n');
    expect(resolveOptions({ open: 'hello' }).openingFrame).toBe(': hello\n\n');
    expect(resolveOptions({ retry: 0 }).openingFrame).toBe('retry: 0\n\n');
  });

  it('sends no opening frame for open: false', () => {
    expect(resolveOptions({ open: false }).openingFrame).toBeUndefined();
  });

  it('sends no retry or opening comment in formats without fields', () => {
    expect(resolveOptions({ format: 'raw', retry: 10, open: true }).openingFrame).toBeUndefined();
  });

  it('gives unnamed events the `event` option’s name', () => {
    expect(resolveOptions({ event: 'token' }).fields).toEqual({ event: 'token' });
  });

  it('drops the error event for errorEvent: false', () => {
    expect(resolveOptions({ errorEvent: false }).errorEvent).toBeUndefined();
  });

  it('keeps a custom errorEvent and onError', () => {
    const errorEvent = () => ({ data: 'x' });
    const onError = () => {};
    const config = resolveOptions({ errorEvent, onError });
    expect(config.errorEvent).toBe(errorEvent);
    expect(config.onError).toBe(onError);
  });
});

describe('sseEvent', () => {
  it('makes an event that isSseEvent recognises, unlike a plain object', () => {
    const event = sseEvent('hi', { event: 'token', id: '1', retry: 5 });
    expect(isSseEvent(event)).toBe(true);
    expect(event).toMatchObject({ data: 'hi', event: 'token', id: '1', retry: 5 });
    expect(isSseEvent({ data: 'hi' })).toBe(false);
    expect(isSseEvent(null)).toBe(false);
  });

  it('keeps only the known fields', () => {
    const event = sseEvent('hi', { event: 'e', extra: 1 } as { event: string });
    expect(Object.keys(event).sort()).toEqual(['data', 'event', 'id', 'retry']);
  });
});
