/**
 * Type tests: `expectTypeOf` is checked by `tsc --noEmit` (part of `npm test`); at run time these
 * assertions are no-ops, which is why each `it` also makes one real call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { describe, expectTypeOf, it } from 'vitest';
import {
  collectText,
  type EventFields,
  type FrameFormat,
  formatEvent,
  type Handler,
  isSseError,
  isSseEvent,
  resolveOptions,
  type Source,
  SseError,
  type SseErrorCode,
  type SseEvent,
  sseEvent,
  type SseWriter,
  type StreamConfig,
  type StreamOptions,
  type StreamRun,
  toSseResponse,
  toSseStream,
} from '../src/index.js';
import { sendSse, sse } from '../src/node.js';

describe('errors', () => {
  it('gives SseError a string-literal code, a field and a cause', () => {
    expectTypeOf<SseError['code']>().toEqualTypeOf<SseErrorCode>();
    expectTypeOf<'CLIENT_GONE'>().toExtend<SseErrorCode>();
    expectTypeOf<'QUEUE_OVERFLOW'>().toExtend<SseErrorCode>();
    expectTypeOf<string>().not.toExtend<SseErrorCode>();
    expectTypeOf<SseError['field']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<SseError>().toExtend<Error>();
    expectTypeOf(
      new SseError('INVALID_ID', 'x', { field: 'id', cause: 1 }),
    ).toEqualTypeOf<SseError>();
  });

  it('makes isSseError a type guard', () => {
    expectTypeOf(isSseError).guards.toEqualTypeOf<SseError>();
    const value: unknown = new SseError('CLIENT_GONE', 'gone');
    if (isSseError(value)) expectTypeOf(value.code).toEqualTypeOf<SseErrorCode>();
  });
});

describe('format', () => {
  it('takes any data and optional fields and returns a string', () => {
    expectTypeOf(formatEvent).parameters.toEqualTypeOf<[unknown, (EventFields | undefined)?]>();
    expectTypeOf(formatEvent('x')).toEqualTypeOf<string>();
    expectTypeOf<EventFields['id']>().toEqualTypeOf<string | number | undefined>();
    // @ts-expect-error: an event name is a string
    expectTypeOf(() => formatEvent('x', { event: 1 })).toBeFunction();
    // @ts-expect-error: retry is a number of milliseconds
    expectTypeOf(() => formatEvent('x', { retry: '3000' })).toBeFunction();
  });

  it('describes a frame format as contentType, event and comment', () => {
    expectTypeOf<FrameFormat['contentType']>().toEqualTypeOf<string>();
    expectTypeOf<FrameFormat['comment']>().returns.toEqualTypeOf<string | undefined>();
  });
});

describe('events and options', () => {
  it('makes sseEvent return an SseEvent that isSseEvent recognises', () => {
    expectTypeOf(sseEvent('x', { event: 'token' })).toEqualTypeOf<SseEvent>();
    expectTypeOf(isSseEvent).guards.toEqualTypeOf<SseEvent>();
    expectTypeOf<SseEvent>().toExtend<EventFields>();
  });

  it('types map’s chunk by the source', () => {
    const options: StreamOptions<{ delta: string }> = {
      map: (chunk, index) => {
        expectTypeOf(chunk).toEqualTypeOf<{ delta: string }>();
        expectTypeOf(index).toEqualTypeOf<number>();
        return chunk.delta;
      },
    };
    expectTypeOf(resolveOptions(options)).toEqualTypeOf<StreamConfig<{ delta: string }>>();
  });

  it('refuses options of the wrong type at compile time', () => {
    // @ts-expect-error: heartbeat is milliseconds or false
    expectTypeOf(() => resolveOptions({ heartbeat: true })).toBeFunction();
    // @ts-expect-error: done is an event or false
    expectTypeOf(() => resolveOptions({ done: true })).toBeFunction();
    // @ts-expect-error: format is a name or a FrameFormat
    expectTypeOf(() => resolveOptions({ format: 'json' })).toBeFunction();
  });
});

describe('writer and sources', () => {
  it('gives the writer bound send, comment and close methods and a signal', () => {
    expectTypeOf<SseWriter['send']>().toEqualTypeOf<
      (this: void, data: unknown, fields?: EventFields) => Promise<void>
    >();
    expectTypeOf<SseWriter['comment']>().toEqualTypeOf<
      (this: void, text: string) => Promise<void>
    >();
    expectTypeOf<SseWriter['close']>().toEqualTypeOf<(this: void) => void>();
    expectTypeOf<SseWriter['fail']>().toEqualTypeOf<(this: void, error: unknown) => void>();
    expectTypeOf<SseWriter['signal']>().toEqualTypeOf<AbortSignal>();
    expectTypeOf<SseWriter['closed']>().toEqualTypeOf<boolean>();
    // A callback API's token handler takes the detached method.
    expectTypeOf<SseWriter['send']>().toExtend<(token: string) => unknown>();
  });

  it('accepts every kind of source', () => {
    expectTypeOf<AsyncIterable<string>>().toExtend<Source<string>>();
    expectTypeOf<ReadableStream<string>>().toExtend<Source<string>>();
    expectTypeOf<string[]>().toExtend<Source<string>>();
    expectTypeOf<Readable>().toExtend<Source>();
    expectTypeOf<(writer: SseWriter) => Promise<void>>().toExtend<Handler>();
    expectTypeOf<(writer: SseWriter) => AsyncGenerator<string>>().toExtend<Handler<string>>();
  });

  it('returns a byte stream, a Response promise and a text promise', () => {
    expectTypeOf(toSseStream(['a'])).toEqualTypeOf<ReadableStream<Uint8Array>>();
    expectTypeOf(toSseResponse).returns.toEqualTypeOf<Promise<Response>>();
    expectTypeOf(collectText(['a'])).toEqualTypeOf<Promise<string>>();
    expectTypeOf<StreamRun['ready']>().toEqualTypeOf<Promise<void>>();
  });
});

describe('ssekit/node', () => {
  it('makes sse() a node:http request listener whose handler gets the request and response', () => {
    const listener = sse((writer, req, res) => {
      expectTypeOf(writer).toEqualTypeOf<SseWriter>();
      expectTypeOf(req).toEqualTypeOf<IncomingMessage>();
      expectTypeOf(res).toEqualTypeOf<ServerResponse>();
    });
    expectTypeOf(listener).toEqualTypeOf<(req: IncomingMessage, res: ServerResponse) => void>();
    expectTypeOf(sendSse).returns.toEqualTypeOf<Promise<void>>();
  });
});
