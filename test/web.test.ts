/* eslint-disable @typescript-eslint/require-await -- async generators stand in for SDK streams */
import { describe, expect, it, vi } from 'vitest';
import { isSseError, streamHeaders, toSseResponse, toSseStream } from '../src/index.js';

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text + decoder.decode();
}

/** Lets pending promise callbacks run (a few event-loop turns, no clock). */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An async iterator whose `next()` never settles, recording calls to `return()`. */
function hangingIterator() {
  const returned = vi.fn(() => Promise.resolve({ done: true as const, value: undefined }));
  const iterable: AsyncIterable<string> = {
    [Symbol.asyncIterator]: () => ({
      next: () => new Promise<IteratorResult<string>>(() => {}),
      return: returned,
    }),
  };
  return { iterable, returned };
}

describe('toSseStream', () => {
  it('streams UTF-8 encoded frames', async () => {
    const stream = toSseStream(['Hello', ' wörld'], { done: { data: '[DONE]' }, heartbeat: false });
    expect(await readAll(stream)).toBe('data: Hello\n\ndata:  wörld\n\ndata: [DONE]\n\n');
  });

  it('encodes a lone surrogate in a string as U+FFFD', async () => {
    const bytes: number[] = [];
    for await (const chunk of toSseStream(['\uD800'], { heartbeat: false })) bytes.push(...chunk);
    expect(bytes).toEqual([...new TextEncoder().encode('data: \uFFFD\n\n')]);
  });

  it('aborts the producer with CLIENT_GONE and returns its iterator when the consumer cancels', async () => {
    const { iterable, returned } = hangingIterator();
    let signal: AbortSignal | undefined;
    const stream = toSseStream(
      async (writer) => {
        signal = writer.signal;
        await writer.send('a');
        return iterable;
      },
      { heartbeat: false },
    );
    const reader = stream.getReader();
    await reader.read();
    await settle(1);
    await expect(reader.cancel(new Error('tab closed'))).resolves.toBeUndefined();
    expect(signal?.aborted).toBe(true);
    expect(isSseError(signal?.reason) && signal.reason.code).toBe('CLIENT_GONE');
    expect(returned).toHaveBeenCalledOnce();
  });

  it('cancels a ReadableStream source when the consumer cancels before the first frame', async () => {
    const cancel = vi.fn();
    const stream = toSseStream(new ReadableStream({ pull: () => new Promise(() => {}), cancel }), {
      heartbeat: false,
    });
    await settle(1);
    await stream.cancel();
    expect(cancel).toHaveBeenCalledOnce();
  });

  it('stops pulling from the producer while the consumer is not reading', async () => {
    let produced = 0;
    const total = 1000;
    const token = 'x'.repeat(1024);
    async function* tokens() {
      while (produced < total) {
        produced++;
        yield token;
      }
    }
    const stream = toSseStream(tokens(), { heartbeat: false });
    const reader = stream.getReader();
    await settle();
    // 64 KiB of buffered frames (1 KiB each) and the one the engine waits on.
    const paused = produced;
    expect(paused).toBeGreaterThan(0);
    expect(paused).toBeLessThan(100);
    await settle();
    expect(produced).toBe(paused);

    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
    }
    expect(produced).toBe(total);
    expect(bytes).toBe(total * `data: ${token}\n\n`.length);
  });

  it('errors the stream when the producer fails before its first frame', async () => {
    const boom = new Error('no API key');
    const stream = toSseStream(
      async () => {
        await Promise.resolve();
        throw boom;
      },
      { heartbeat: false },
    );
    await expect(stream.getReader().read()).rejects.toBe(boom);
  });

  it('ends with the generic error event when the producer fails mid-stream', async () => {
    const stream = toSseStream(
      async function* () {
        yield 'a';
        throw new Error('secret');
      },
      { heartbeat: false },
    );
    expect(await readAll(stream)).toBe(
      'data: a\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
  });
});

describe('toSseResponse', () => {
  it('answers 200 with the streaming headers, content type without charset', async () => {
    const response = await toSseResponse(['a'], { heartbeat: false });
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toEqual({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    expect(await response.text()).toBe('data: a\n\n');
  });

  it('uses the content type of the endpoint’s format', async () => {
    const response = await toSseResponse([{ a: 1 }], { format: 'ndjson' });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(await response.text()).toBe('{"a":1}\n');
  });

  it('adds extra headers, and the streaming headers win on conflict', async () => {
    const response = await toSseResponse(['a'], {
      headers: { 'x-request-id': '7', 'cache-control': 'public, max-age=60' },
    });
    expect(response.headers.get('x-request-id')).toBe('7');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
  });

  it('rejects with the producer’s error when it fails before its first frame', async () => {
    const boom = new Error('invalid prompt');
    await expect(
      toSseResponse(async () => {
        await Promise.resolve();
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  it('resolves once the handler returns a source, before the first token', async () => {
    const { iterable } = hangingIterator();
    const response = await toSseResponse(() => iterable, { heartbeat: false });
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });

  it('refuses bad options before running the producer', async () => {
    const producer = vi.fn(() => ['a']);
    await expect(toSseResponse(producer, { heartbeat: -1 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      field: 'heartbeat',
    });
    expect(producer).not.toHaveBeenCalled();
  });
});

describe('streamHeaders', () => {
  it('returns exactly the content type, cache-control and x-accel-buffering headers', () => {
    expect(streamHeaders('text/event-stream')).toEqual({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
  });
});

describe('toSseResponse with a request signal', () => {
  it('aborts at once, pulling nothing, when the request signal fired before the handler ran', async () => {
    const client = new AbortController();
    client.abort();
    let aborted = false;
    let pulled = 0;
    let returned = false;
    const iterator: AsyncIterableIterator<string> = {
      [Symbol.asyncIterator]: () => iterator,
      next: () => (pulled++, Promise.resolve({ value: 'x', done: false })),
      return: () => ((returned = true), Promise.resolve({ value: undefined, done: true })),
    };
    const error: unknown = await toSseResponse(
      (writer) => {
        writer.signal.addEventListener('abort', () => (aborted = true));
        return iterator;
      },
      { signal: client.signal, open: true },
    ).catch((reason: unknown) => reason);
    expect(isSseError(error) && error.code).toBe('CLIENT_GONE');
    expect(aborted).toBe(true);
    expect(returned).toBe(true);
    expect(pulled).toBe(0);
  });

  it('stops a producer that is still thinking when the request aborts before the first frame', async () => {
    const client = new AbortController();
    let producerSignal: AbortSignal | undefined;
    const response = toSseResponse(
      async (writer) => {
        producerSignal = writer.signal;
        await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
      },
      { signal: client.signal },
    );
    client.abort();
    const error: unknown = await response.catch((reason: unknown) => reason);
    expect(isSseError(error) && error.code).toBe('CLIENT_GONE');
    expect(producerSignal?.aborted).toBe(true);
  });

  it('aborts the producer when the request aborts mid-stream', async () => {
    const client = new AbortController();
    let producerSignal: AbortSignal | undefined;
    const response = await toSseResponse(
      (writer) => {
        producerSignal = writer.signal;
        return (async function* () {
          yield 'first';
          await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
        })();
      },
      { signal: client.signal },
    );
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe('data: first\n\n');
    client.abort();
    expect(producerSignal?.aborted).toBe(true);
    expect((await reader.read()).done).toBe(true);
  });
});
