/* eslint-disable @typescript-eslint/require-await -- async generators stand in for SDK streams */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  collectText,
  isSseError,
  isSource,
  isSseBatch,
  type Producer,
  resolveOptions,
  runStream,
  sseBatch,
  sseEvent,
  type SseTransport,
  type SseWriter,
  type StreamOptions,
} from '../src/index.js';

/** A transport that records what the engine does, and can play a full socket. */
class MemoryTransport implements SseTransport {
  /** 'commit', each written chunk, and 'close', in order. */
  readonly log: string[] = [];
  /** While true, `write` reports the transport full. */
  full = false;
  private drainers: (() => void)[] = [];

  commit(): void {
    this.log.push('commit');
  }
  write(chunk: string): boolean {
    this.log.push(chunk);
    return !this.full;
  }
  waitForDrain(): Promise<void> {
    return new Promise((resolve) => this.drainers.push(resolve));
  }
  close(): void {
    this.log.push('close');
  }
  /** Empties the socket: the engine may write again. */
  drain(): void {
    this.full = false;
    const drainers = this.drainers;
    this.drainers = [];
    for (const resolve of drainers) resolve();
  }
  /** Everything written, as one string. */
  get text(): string {
    return this.log.filter((entry) => entry !== 'commit' && entry !== 'close').join('');
  }
}

function start<T>(
  producer: Producer<T>,
  options: StreamOptions<T> = {},
  transport = new MemoryTransport(),
) {
  const run = runStream(transport, producer, resolveOptions({ heartbeat: false, ...options }));
  return { transport, run };
}

async function streamed<T>(producer: Producer<T>, options: StreamOptions<T> = {}) {
  const { transport, run } = start(producer, options);
  await run.ready;
  await run.done;
  return transport;
}

/** Lets pending promise callbacks and I/O callbacks run (a few event-loop turns, no clock). */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** A promise with its resolve function. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** An async iterator whose `next()` never settles, recording calls to `return()`. */
function hangingIterator() {
  const returned = vi.fn(() => Promise.resolve({ done: true as const, value: undefined }));
  const nextCalled = vi.fn();
  const iterable: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () => {
        nextCalled();
        return new Promise<IteratorResult<string>>(() => {});
      },
      return: returned,
    }),
  };
  return { iterable, returned, nextCalled };
}

describe('sources', () => {
  it('streams an async iterable', async () => {
    async function* tokens() {
      yield 'Hello';
      yield ' world';
    }
    const transport = await streamed(tokens());
    expect(transport.log).toEqual(['commit', 'data: Hello\n\n', 'data:  world\n\n', 'close']);
  });

  it('streams a sync iterable', async () => {
    const transport = await streamed(['a', { b: 1 }]);
    expect(transport.text).toBe('data: a\n\ndata: {"b":1}\n\n');
  });

  it('streams a WHATWG ReadableStream', async () => {
    const transport = await streamed(
      new ReadableStream<string>({
        start(controller) {
          controller.enqueue('a');
          controller.enqueue('b\nc');
          controller.close();
        },
      }),
    );
    expect(transport.text).toBe('data: a\n\ndata: b\ndata: c\n\n');
  });

  it('streams a Node Readable in object mode', async () => {
    const transport = await streamed(Readable.from(['x', 'y']));
    expect(transport.text).toBe('data: x\n\ndata: y\n\n');
  });

  it('decodes a byte stream as UTF-8 text, across a character split between chunks', async () => {
    const bytes = new TextEncoder().encode('hé!');
    const source = Readable.from([bytes.subarray(0, 2), bytes.subarray(2)], {
      objectMode: false,
    });
    const transport = await streamed(source);
    expect(transport.text).toBe('data: h\n\ndata: é!\n\n');
  });

  it('decodes a ReadableStream of bytes too', async () => {
    const bytes = new TextEncoder().encode('😀');
    const transport = await streamed(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.subarray(0, 1));
          controller.enqueue(bytes.subarray(1));
          controller.close();
        },
      }),
    );
    expect(transport.text).toBe('data: 😀\n\n');
  });

  it('sends an incomplete character at the end of a byte stream as U+FFFD instead of dropping it', async () => {
    const bytes = new TextEncoder().encode('aé');
    const transport = await streamed(
      Readable.from([Buffer.from(bytes.subarray(0, 2))], { objectMode: false }),
    );
    expect(transport.text).toBe('data: a\n\ndata: \uFFFD\n\n');
  });

  it('streams what a handler returns', async () => {
    const transport = await streamed(() => ['a', 'b']);
    expect(transport.text).toBe('data: a\n\ndata: b\n\n');
  });

  it('streams what a handler pushes and then the source it returns', async () => {
    const transport = await streamed(async (writer) => {
      await writer.send('first', { event: 'meta' });
      return ['a', 'b'];
    });
    expect(transport.text).toBe('event: meta\ndata: first\n\ndata: a\n\ndata: b\n\n');
  });

  it('runs an async generator function as a handler', async () => {
    const transport = await streamed(async function* () {
      yield 'a';
      yield 'b';
    });
    expect(transport.text).toBe('data: a\n\ndata: b\n\n');
  });

  it('fails before commit when a handler returns something that is not a source', async () => {
    const { transport, run } = start(() => 'text' as never);
    await expect(run.ready).rejects.toMatchObject({ code: 'INVALID_OPTION', field: 'handler' });
    expect(transport.log).toEqual([]);
  });

  it('does not treat a string as a source', () => {
    expect(isSource('ab')).toBe(false);
    expect(isSource(['a'])).toBe(true);
    expect(isSource(new ReadableStream())).toBe(true);
    expect(isSource(Readable.from([]))).toBe(true);
    expect(isSource(null)).toBe(false);
  });
});

describe('batches', () => {
  it('writes the events of a batch together, in order, with their fields', async () => {
    const { transport, run } = start(
      (async function* () {
        yield 'a';
        yield sseBatch([sseEvent('b', { id: '1' }), 'c', sseEvent({ d: 1 }, { event: 'x' })]);
        yield 'e';
      })(),
    );
    await run.done;
    expect(transport.log).toEqual([
      'commit',
      'data: a\n\n',
      'id: 1\ndata: b\n\ndata: c\n\nevent: x\ndata: {"d":1}\n\n',
      'data: e\n\n',
      'close',
    ]);
  });

  it('applies no map to a batch, and writes nothing for an empty one', async () => {
    const { transport, run } = start(
      (function* () {
        yield 'a';
        yield sseBatch([]);
        yield sseBatch(['b']);
      })(),
      { map: (chunk: unknown) => `mapped ${String(chunk)}` },
    );
    await run.done;
    expect(transport.text).toBe('data: mapped a\n\ndata: b\n\n');
  });

  it('writes none of a batch that holds an event the format refuses, then the error event', async () => {
    const { transport, run } = start(
      (function* () {
        yield 'a';
        yield sseBatch(['b', sseEvent('c', { id: 'x\ny' })]);
      })(),
    );
    await run.done;
    expect(transport.text).toBe(
      'data: a\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
  });

  it('is told apart from an array, which is data', () => {
    expect(isSseBatch(sseBatch(['a']))).toBe(true);
    expect(isSseBatch(['a'])).toBe(false);
    expect(() => sseBatch('a' as unknown as string[])).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', field: 'events' }),
    );
  });
});

describe('push writer', () => {
  it('works with its methods detached from the writer', async () => {
    const transport = await streamed((writer) => {
      const { send, comment, close } = writer;
      void send('x');
      void send({ y: 1 }, { id: '1' });
      void comment('note');
      close();
      void send('after close');
    });
    expect(transport.log).toEqual([
      'commit',
      'data: x\n\n',
      'id: 1\ndata: {"y":1}\n\n',
      ': note\n\n',
      'close',
    ]);
  });

  it('can be handed to a callback API that passes extra arguments', async () => {
    const transport = await streamed((writer) => {
      const callbacks = { handleLLMNewToken: writer.send };
      void callbacks.handleLLMNewToken('tok', { prompt: 0, completion: 0 } as never);
    });
    expect(transport.text).toBe('data: tok\n\n');
  });

  it('refuses a bad event synchronously, writes nothing for it, and stays usable', async () => {
    let refused: unknown;
    const transport = await streamed(
      async (writer) => {
        await writer.send('ok');
        try {
          void writer.send('x', { event: 'a\nb' });
        } catch (error) {
          refused = error;
        }
        expect(() => writer.send(1n)).toThrow(
          expect.objectContaining({ code: 'UNSERIALIZABLE_DATA' }),
        );
        await writer.send('still ok');
      },
      { done: { data: '[DONE]' } },
    );
    expect(isSseError(refused) && refused.code).toBe('INVALID_EVENT');
    expect(transport.log).toEqual([
      'commit',
      'data: ok\n\n',
      'data: still ok\n\n',
      'data: [DONE]\n\n',
      'close',
    ]);
  });

  it('sends no comment in a format without comments', async () => {
    const transport = await streamed(
      async (writer) => {
        await writer.comment('hidden');
        await writer.send('a');
      },
      { format: 'raw' },
    );
    expect(transport.text).toBe('a');
  });

  it('reports closed after close()', async () => {
    let closedAfter: boolean | undefined;
    await streamed((writer) => {
      writer.close();
      closedAfter = writer.closed;
    });
    expect(closedAfter).toBe(true);
  });
});

describe('map and event', () => {
  it('turns each chunk into data, skipping chunks it maps to undefined', async () => {
    const chunks = [{ delta: 'a' }, { delta: undefined }, { delta: 'b' }];
    const indexes: number[] = [];
    const transport = await streamed(chunks, {
      map: (chunk, index) => {
        indexes.push(index);
        return chunk.delta;
      },
    });
    expect(transport.text).toBe('data: a\n\ndata: b\n\n');
    expect(indexes).toEqual([0, 1, 2]);
  });

  it('sends the sseEvent a map returns with its fields', async () => {
    const transport = await streamed(['a'], {
      map: (token) => sseEvent({ token }, { event: 'token', id: '1' }),
    });
    expect(transport.text).toBe('event: token\nid: 1\ndata: {"token":"a"}\n\n');
  });

  it('sends a plain object a map returns as JSON data, not as fields', async () => {
    const transport = await streamed(['a'], { map: () => ({ data: 'x', event: 'y' }) });
    expect(transport.text).toBe('data: {"data":"x","event":"y"}\n\n');
  });

  it('does not apply map to what the writer sends', async () => {
    const transport = await streamed((writer) => void writer.send('raw'), {
      map: () => 'mapped',
    });
    expect(transport.text).toBe('data: raw\n\n');
  });

  it('names every event that has no name of its own', async () => {
    const transport = await streamed(
      async (writer) => {
        await writer.send('a');
        await writer.send('b', { id: '2' });
        await writer.send('c', { event: 'own' });
        return [sseEvent('d'), sseEvent('e', { event: 'other' })];
      },
      { event: 'token' },
    );
    expect(transport.text).toBe(
      'event: token\ndata: a\n\n' +
        'event: token\nid: 2\ndata: b\n\n' +
        'event: own\ndata: c\n\n' +
        'event: token\ndata: d\n\n' +
        'event: other\ndata: e\n\n',
    );
  });

  it('ends with the error event when map throws, and returns the iterator', async () => {
    let cleanedUp = false;
    async function* tokens() {
      try {
        yield 'a';
        yield 'b';
      } finally {
        cleanedUp = true;
      }
    }
    const onError = vi.fn();
    const boom = new Error('map failed');
    const transport = await streamed(tokens(), {
      map: () => {
        throw boom;
      },
      onError,
    });
    expect(onError).toHaveBeenCalledWith(boom);
    expect(transport.text).toBe('event: error\ndata: {"error":"Internal Server Error"}\n\n');
    await settle(1);
    expect(cleanedUp).toBe(true);
  });
});

describe('done frame', () => {
  const done = { data: '[DONE]' };

  it('is sent when the source ends', async () => {
    const transport = await streamed(['a'], { done });
    expect(transport.log).toEqual(['commit', 'data: a\n\n', 'data: [DONE]\n\n', 'close']);
  });

  it('is sent when the handler settles, and when it closes the writer', async () => {
    expect((await streamed(() => {}, { done })).text).toBe('data: [DONE]\n\n');
    const closed = await streamed(
      (writer) => {
        writer.close();
        writer.close();
      },
      { done },
    );
    expect(closed.text).toBe('data: [DONE]\n\n');
  });

  it('is not sent when the producer fails', async () => {
    const transport = await streamed(
      async (writer) => {
        await writer.send('a');
        throw new Error('x');
      },
      { done, errorEvent: false },
    );
    expect(transport.text).toBe('data: a\n\n');
  });

  it('is not sent when the client goes away', async () => {
    const { transport, run } = start(hangingIterator().iterable, { done });
    run.abort();
    await run.done;
    expect(transport.text).toBe('');
  });
});

describe('abort', () => {
  it('aborts at once, writing nothing and arming no timer, when the transport says the client is gone', async () => {
    vi.useFakeTimers();
    try {
      const transport = new MemoryTransport();
      const gone: SseTransport = Object.assign(transport, { gone: () => true });
      let reason: unknown;
      let pulled = 0;
      let returned = false;
      const iterator: AsyncIterableIterator<string> = {
        [Symbol.asyncIterator]: () => iterator,
        next: () => (pulled++, Promise.resolve({ value: 'x', done: false })),
        return: () => ((returned = true), Promise.resolve({ value: undefined, done: true })),
      };
      const run = runStream(
        gone,
        (writer) => {
          writer.signal.addEventListener('abort', () => {
            reason = writer.signal.reason;
          });
          void writer.send('too early');
          return iterator;
        },
        resolveOptions({ heartbeat: 1000, open: true, retry: 500 }),
      );
      const ready: unknown = await run.ready.catch((error: unknown) => error);
      await run.done;
      expect(isSseError(ready) && ready.code).toBe('CLIENT_GONE');
      expect(isSseError(reason) && reason.code).toBe('CLIENT_GONE');
      expect(returned).toBe(true);
      expect(pulled).toBe(0);
      expect(transport.log).toEqual(['close']);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('cancels a ReadableStream source at once when the client is already gone', async () => {
    let cancelled = false;
    const source = new ReadableStream<string>({
      pull: (controller) => controller.enqueue('x'),
      cancel: () => void (cancelled = true),
    });
    const transport = Object.assign(new MemoryTransport(), { gone: () => true });
    const run = runStream(transport, source, resolveOptions({ heartbeat: false }));
    await run.ready.catch(() => undefined);
    await run.done;
    expect(cancelled).toBe(true);
    expect(transport.log).toEqual(['close']);
  });

  it('fires the signal with CLIENT_GONE and closes the transport', async () => {
    let signal: AbortSignal | undefined;
    const { transport, run } = start(async (writer) => {
      signal = writer.signal;
      await writer.send('a');
      await new Promise(() => {});
    });
    await run.ready;
    run.abort();
    expect(signal?.aborted).toBe(true);
    expect(isSseError(signal?.reason) && signal.reason.code).toBe('CLIENT_GONE');
    expect(run.signal).toBe(signal);
    await run.done;
    expect(transport.log).toEqual(['commit', 'data: a\n\n', 'close']);
  });

  it('calls an iterator’s return() at once, while its next() is pending', async () => {
    const { iterable, returned, nextCalled } = hangingIterator();
    const { run } = start(iterable);
    await settle(1);
    expect(nextCalled).toHaveBeenCalledOnce();
    run.abort();
    expect(returned).toHaveBeenCalledOnce();
  });

  it('cancels a ReadableStream at once, while a read is pending', async () => {
    const cancel = vi.fn();
    const pulled = deferred();
    const source = new ReadableStream<string>({
      pull() {
        pulled.resolve();
        return new Promise(() => {});
      },
      cancel,
    });
    const { run } = start(source);
    await pulled.promise;
    run.abort();
    expect(cancel).toHaveBeenCalledOnce();
    expect(isSseError(cancel.mock.calls[0]?.[0]) && cancel.mock.calls[0]?.[0].code).toBe(
      'CLIENT_GONE',
    );
  });

  it('destroys a Node Readable at once, while a read is pending', async () => {
    const read = deferred();
    const source = new Readable({
      objectMode: true,
      read() {
        read.resolve();
      },
    });
    const { run } = start(source);
    await read.promise;
    run.abort();
    expect(source.destroyed).toBe(true);
    await run.done;
  });

  it('stops the source a handler returns after the client has gone', async () => {
    const { iterable, returned } = hangingIterator();
    const cancel = vi.fn();
    const handlerGo = deferred();
    const { run } = start(async () => {
      await handlerGo.promise;
      return iterable;
    });
    run.abort();
    handlerGo.resolve();
    await settle(1);
    expect(returned).toHaveBeenCalledOnce();

    const second = start(async () => {
      await Promise.resolve();
      return new ReadableStream({ cancel });
    });
    second.run.abort();
    await settle(1);
    expect(cancel).toHaveBeenCalledOnce();
  });

  it('makes writes after the abort no-ops that resolve', async () => {
    let writer: SseWriter | undefined;
    const { transport, run } = start((w) => {
      writer = w;
      return new Promise<void>(() => {});
    });
    await writer?.send('a');
    run.abort();
    await expect(writer?.send('b')).resolves.toBeUndefined();
    await expect(writer?.comment('c')).resolves.toBeUndefined();
    writer?.close();
    expect(writer?.closed).toBe(true);
    expect(transport.log).toEqual(['commit', 'data: a\n\n', 'close']);
  });

  it('rejects ready when the client goes away before anything was written', async () => {
    const { transport, run } = start(() => new Promise<void>(() => {}));
    run.abort();
    await expect(run.ready).rejects.toMatchObject({ code: 'CLIENT_GONE' });
    await run.done;
    expect(transport.log).toEqual(['close']);
  });

  it('ignores a producer error that follows the abort', async () => {
    const onError = vi.fn();
    const fail = deferred();
    const { transport, run } = start(
      async (writer) => {
        await writer.send('a');
        await fail.promise;
        throw new Error('aborted upstream call');
      },
      { onError },
    );
    await run.ready;
    run.abort();
    fail.resolve();
    await settle(1);
    expect(onError).not.toHaveBeenCalled();
    expect(transport.log).toEqual(['commit', 'data: a\n\n', 'close']);
  });
});

describe('heartbeat', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a comment after exactly the configured silence', async () => {
    vi.useFakeTimers();
    const { transport } = start(
      async (writer) => {
        await writer.send('a');
        await new Promise(() => {});
      },
      { heartbeat: 1000 },
    );
    await vi.advanceTimersByTimeAsync(999);
    expect(transport.text).toBe('data: a\n\n');
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.text).toBe('data: a\n\n:\n\n');
    await vi.advanceTimersByTimeAsync(1000);
    expect(transport.text).toBe('data: a\n\n:\n\n:\n\n');
  });

  it('restarts the silence on every frame', async () => {
    vi.useFakeTimers();
    let writer: SseWriter | undefined;
    const { transport } = start(
      (w) => {
        writer = w;
        return new Promise<void>(() => {});
      },
      { heartbeat: 1000 },
    );
    await vi.advanceTimersByTimeAsync(600);
    await writer?.send('a');
    await vi.advanceTimersByTimeAsync(999);
    expect(transport.text).toBe('data: a\n\n');
    await writer?.send('b');
    await vi.advanceTimersByTimeAsync(999);
    expect(transport.text).toBe('data: a\n\ndata: b\n\n');
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.text).toBe('data: a\n\ndata: b\n\n:\n\n');
  });

  it('commits the response when the producer is silent from the start', async () => {
    vi.useFakeTimers();
    const { transport, run } = start(() => new Promise<void>(() => {}), { heartbeat: 500 });
    const ready = vi.fn();
    void run.ready.then(ready);
    await vi.advanceTimersByTimeAsync(499);
    expect(transport.log).toEqual([]);
    expect(ready).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(transport.log).toEqual(['commit', ':\n\n']);
    expect(ready).toHaveBeenCalled();
  });

  it('is off with heartbeat: false', async () => {
    vi.useFakeTimers();
    const { transport } = start(() => new Promise<void>(() => {}), { heartbeat: false });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60 * 60 * 1000);
    expect(transport.log).toEqual([]);
  });

  it.each(['raw', 'ndjson'] as const)('is not sent in the %s format', async (format) => {
    vi.useFakeTimers();
    const { transport } = start(() => new Promise<void>(() => {}), { format, heartbeat: 100 });
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(transport.log).toEqual([]);
  });

  it('is cleared when the stream ends, fails or is aborted', async () => {
    vi.useFakeTimers();
    const ended = start(['a'], { heartbeat: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    await ended.run.done;
    expect(vi.getTimerCount()).toBe(0);

    const failed = start(
      async (writer) => {
        await writer.send('a');
        throw new Error('x');
      },
      { heartbeat: 1000 },
    );
    await failed.run.done;
    expect(vi.getTimerCount()).toBe(0);

    const aborted = start(() => new Promise<void>(() => {}), { heartbeat: 1000 });
    expect(vi.getTimerCount()).toBe(1);
    aborted.run.abort();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('is not written while the transport is full', async () => {
    vi.useFakeTimers();
    let writer: SseWriter | undefined;
    const { transport } = start(
      (w) => {
        writer = w;
        return new Promise<void>(() => {});
      },
      { heartbeat: 1000 },
    );
    transport.full = true;
    void writer?.send('a');
    await vi.advanceTimersByTimeAsync(5000);
    expect(transport.text).toBe('data: a\n\n');
  });
});

describe('backpressure', () => {
  it('pauses an awaiting producer while the transport is full', async () => {
    let produced = 0;
    async function* tokens() {
      for (;;) {
        produced++;
        yield String(produced);
        if (produced === 1000) return;
      }
    }
    const { transport, run } = start(tokens());
    transport.full = true;
    await settle();
    expect(produced).toBe(1);
    expect(transport.text).toBe('data: 1\n\n');
    transport.drain();
    transport.full = true;
    await settle();
    expect(produced).toBe(2);
    transport.drain();
    await run.done;
    expect(produced).toBe(1000);
  });

  it('holds send()’s promise until the transport drains', async () => {
    const resolved = vi.fn();
    const transport = new MemoryTransport();
    transport.full = true;
    start(
      async (writer) => {
        await writer.send('a');
        resolved();
      },
      {},
      transport,
    );
    await settle();
    expect(resolved).not.toHaveBeenCalled();
    transport.drain();
    await settle();
    expect(resolved).toHaveBeenCalled();
  });

  it('coalesces what queued while full into one write when the transport drains', async () => {
    const full = new MemoryTransport();
    full.full = true;
    const { transport, run } = start(
      (writer) => {
        void writer.send('a');
        void writer.send('b');
        void writer.send('c');
      },
      {},
      full,
    );
    await settle();
    transport.drain();
    await run.done;
    expect(transport.log).toEqual(['commit', 'data: a\n\n', 'data: b\n\ndata: c\n\n', 'close']);
  });

  it('stops a producer that ignores backpressure with QUEUE_OVERFLOW, then delivers what it accepted and the error event', async () => {
    const onError = vi.fn();
    let signal: AbortSignal | undefined;
    const sendResults: boolean[] = [];
    const full = new MemoryTransport();
    full.full = true;
    const { transport, run } = start(
      (writer) => {
        signal = writer.signal;
        for (let i = 0; i < 10; i++) {
          void writer.send('x'.repeat(10));
          sendResults.push(writer.closed);
        }
        return new Promise<void>(() => {});
      },
      { queueLimit: 40, onError },
      full,
    );
    await settle();
    expect(onError).toHaveBeenCalledOnce();
    const error: unknown = onError.mock.calls[0]?.[0];
    expect(isSseError(error) && error.code).toBe('QUEUE_OVERFLOW');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(error);
    // The first frame was written; the next ones queued, 18 bytes each, until the queue passed 40
    // bytes with the 4th send.
    expect(sendResults).toEqual([false, false, false, true, true, true, true, true, true, true]);
    expect(transport.log).toEqual(['commit', `data: ${'x'.repeat(10)}\n\n`]);
    transport.drain();
    await run.done;
    const frame = `data: ${'x'.repeat(10)}\n\n`;
    expect(transport.text).toBe(
      frame.repeat(4) + 'event: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
    expect(transport.log.at(-1)).toBe('close');
  });
});

describe('errors', () => {
  it('rejects ready with the error and writes nothing when the producer fails before commit', async () => {
    const onError = vi.fn();
    const boom = new Error('no API key');
    let signal: AbortSignal | undefined;
    const { transport, run } = start(
      async (writer) => {
        signal = writer.signal;
        await Promise.resolve();
        throw boom;
      },
      { onError, done: { data: '[DONE]' } },
    );
    await expect(run.ready).rejects.toBe(boom);
    await run.done;
    expect(transport.log).toEqual([]);
    expect(onError).not.toHaveBeenCalled();
    expect(signal?.aborted).toBe(true);
  });

  it('rejects ready when the handler throws synchronously', async () => {
    const boom = new Error('sync');
    const { transport, run } = start(() => {
      throw boom;
    });
    await expect(run.ready).rejects.toBe(boom);
    expect(transport.log).toEqual([]);
  });

  it('ends a stream that fails mid-way with a generic error event: no message, no stack', async () => {
    const onError = vi.fn();
    const boom = new Error('secret upstream detail');
    const transport = await streamed(
      async (writer) => {
        await writer.send('a');
        throw boom;
      },
      { onError },
    );
    expect(transport.log).toEqual([
      'commit',
      'data: a\n\n',
      'event: error\ndata: {"error":"Internal Server Error"}\n\n',
      'close',
    ]);
    expect(transport.text).not.toContain('secret');
    expect(transport.text).not.toContain('stream.test');
    expect(onError).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it('treats an error thrown by a source it already streams as a mid-stream failure', async () => {
    async function* tokens() {
      yield 'a';
      throw new Error('rate limited');
    }
    const { transport, run } = start(tokens());
    await run.ready;
    await run.done;
    expect(transport.text).toBe(
      'data: a\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
  });

  it('sends the endpoint’s own error event', async () => {
    const transport = await streamed(
      async (writer) => {
        await writer.send('a');
        throw new Error('quota');
      },
      {
        errorEvent: (error) => ({
          event: 'failure',
          data: { message: error instanceof Error ? error.message : '?' },
        }),
      },
    );
    expect(transport.text).toBe('data: a\n\nevent: failure\ndata: {"message":"quota"}\n\n');
  });

  it('ends without an error event for errorEvent: false, or one that returns undefined', async () => {
    for (const errorEvent of [false as const, () => undefined]) {
      const onError = vi.fn();
      const transport = await streamed(
        async (writer) => {
          await writer.send('a');
          throw new Error('x');
        },
        { errorEvent, onError },
      );
      expect(transport.log).toEqual(['commit', 'data: a\n\n', 'close']);
      expect(onError).toHaveBeenCalledOnce();
    }
  });

  it('still ends the stream when errorEvent or onError throw', async () => {
    const transport = await streamed(
      async (writer) => {
        await writer.send('a');
        throw new Error('x');
      },
      {
        errorEvent: () => {
          throw new Error('bad hook');
        },
        onError: () => {
          throw new Error('bad hook');
        },
      },
    );
    expect(transport.log).toEqual(['commit', 'data: a\n\n', 'close']);
  });
});

describe('commit', () => {
  it('commits before the producer runs when there is an opening frame', () => {
    const { transport } = start(() => new Promise<void>(() => {}), { retry: 1000, open: 'hi' });
    expect(transport.log).toEqual(['commit', 'retry: 1000\n\n: hi\n\n']);
  });

  it('commits when the handler returns a source, before its first chunk', async () => {
    const { transport, run } = start(() => hangingIterator().iterable);
    await run.ready;
    expect(transport.log).toEqual(['commit']);
  });

  it('commits when the handler settles without writing', async () => {
    const transport = await streamed(() => Promise.resolve());
    expect(transport.log).toEqual(['commit', 'close']);
  });

  it('does not commit while the handler is still working', async () => {
    const { transport, run } = start(() => new Promise<void>(() => {}));
    const ready = vi.fn();
    void run.ready.then(ready);
    await settle();
    expect(ready).not.toHaveBeenCalled();
    expect(transport.log).toEqual([]);
  });
});

describe('collectText', () => {
  it('joins the data of every event, without fields or framing', async () => {
    const text = await collectText(async (writer) => {
      await writer.send('Hello', { event: 'x', id: '1' });
      await writer.comment('ignored');
      return [' world', { n: 1 }];
    });
    expect(text).toBe('Hello world{"n":1}');
  });

  it('applies map', async () => {
    const text = await collectText([{ d: 'a' }, { d: undefined }, { d: 'b' }], {
      map: (chunk) => chunk.d,
    });
    expect(text).toBe('ab');
  });

  it('throws what the producer throws, before and after its first event', async () => {
    const early = new Error('early');
    await expect(
      collectText(() => {
        throw early;
      }),
    ).rejects.toBe(early);
    const late = new Error('late');
    await expect(
      collectText(async function* () {
        yield 'a';
        throw late;
      }),
    ).rejects.toBe(late);
  });

  it('stops the producer and throws the reason when the signal aborts', async () => {
    const controller = new AbortController();
    const { iterable, returned } = hangingIterator();
    const reason = new Error('user cancelled');
    const result = collectText(iterable, {}, controller.signal);
    controller.abort(reason);
    await expect(result).rejects.toBe(reason);
    expect(returned).toHaveBeenCalled();
  });

  it('stops a producer that grows past the limit and rejects with DOCUMENT_TOO_LARGE', async () => {
    let pulled = 0;
    let reason: unknown;
    const producer = (writer: SseWriter) => {
      writer.signal.addEventListener('abort', () => {
        reason = writer.signal.reason;
      });
      return (function* () {
        for (;;) {
          pulled++;
          yield 'abcd';
        }
      })();
    };
    const error: unknown = await collectText(producer, { limit: 10 }).catch((e: unknown) => e);
    expect(isSseError(error) && error.code).toBe('DOCUMENT_TOO_LARGE');
    expect(reason).toBe(error);
    expect(pulled).toBeLessThanOrEqual(4);
  });

  it('bounds the text by the queueLimit by default, and refuses a limit that is not a positive integer', async () => {
    const big = ['x'.repeat(600), 'y'.repeat(600)];
    await expect(collectText(big, { queueLimit: 1000 })).rejects.toMatchObject({
      code: 'DOCUMENT_TOO_LARGE',
    });
    expect(await collectText(big, { queueLimit: 1200 })).toBe(big.join(''));
    await expect(collectText(big, { limit: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      field: 'limit',
    });
  });

  it('stops at once, pulling nothing, for a signal that has already aborted', async () => {
    let pulled = 0;
    let aborted = false;
    const producer = vi.fn((writer: SseWriter) => {
      writer.signal.addEventListener('abort', () => (aborted = true));
      return (function* () {
        pulled++;
        yield 'a';
      })();
    });
    const reason = new Error('already');
    await expect(collectText(producer, {}, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(aborted).toBe(true);
    expect(pulled).toBe(0);
  });
});

describe('writer.fail', () => {
  it('ends a started stream like a thrown error: onError, the signal, the error event, nothing after', async () => {
    const errors: unknown[] = [];
    const failure = new Error('refused by a callback API');
    let signal!: AbortSignal;
    const { transport, run } = start(
      (writer) => {
        signal = writer.signal;
        void writer.send('a');
        writer.fail(failure);
        void writer.send('b'); // after the end: a no-op
        writer.fail(new Error('second')); // only the first failure counts
        return new Promise<void>(() => {}); // the handler itself never settles
      },
      { done: { data: '[DONE]' }, onError: (error) => errors.push(error) },
    );
    await run.done;
    expect(transport.text).toBe(
      'data: a\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
    expect(errors).toEqual([failure]);
    expect(signal.reason).toBe(failure);
  });

  it('before the first frame, rejects ready so the framework answers with an error status', async () => {
    const failure = new Error('too early');
    const { transport, run } = start((writer) => {
      writer.fail(failure);
    });
    await expect(run.ready).rejects.toBe(failure);
    await run.done;
    expect(transport.log).toEqual([]);
  });
});
