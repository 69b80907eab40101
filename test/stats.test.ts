/**
 * Lifecycle and stats (issue 12, item 3): the figures given to `lifecycle` hooks equal what the
 * client received (events, bytes, heartbeats) and name the end reason, for done, abort, error,
 * overflow, drain and limit endings, through every adapter's `sse()` alike.
 */
import {
  drain,
  endReason,
  reportResume,
  resolveOptions,
  runStream,
  SseError,
  type SseOptions,
  type SseWriter,
  type StreamStats,
  toSseResponse,
} from 'ssekit';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, EventReader, rawRequest } from './conformance/clients.js';
import { type Running, targets } from './conformance/targets.js';
import { aborted } from './integrations/helpers.js';

const bytes = (text: string): number => new TextEncoder().encode(text).byteLength;

describe('endReason', () => {
  it.each([
    [undefined, 'done'],
    [new SseError('CLIENT_GONE', ''), 'client_gone'],
    [new SseError('QUEUE_OVERFLOW', ''), 'queue_overflow'],
    [new SseError('DRAINING', ''), 'drain'],
    [new SseError('STREAM_LIMIT', ''), 'limit'],
    [new SseError('STOPPED', ''), 'stopped'],
    [new SseError('UPSTREAM_ERROR', ''), 'error'],
    [new Error('boom'), 'error'],
    ['a string', 'error'],
  ])('maps %o to %s', (reason, expected) => {
    expect(endReason(reason)).toBe(expected);
  });
});

describe.each(targets)('stats on $name', (target) => {
  const running: Running[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  /** Starts an endpoint whose stats arrive in `ended`; the client reads the raw body. */
  async function run(
    options: SseOptions<unknown, unknown>,
    produce: (writer: SseWriter) => unknown,
    client: (reader: EventReader, cut: () => void, app: Running) => Promise<void> = (reader) =>
      reader.ended,
  ): Promise<{ stats: StreamStats; reader: EventReader; started: StreamStats[] }> {
    const ended = deferred<StreamStats>();
    const started: StreamStats[] = [];
    const app = await target.start([
      {
        method: 'get',
        path: '/s',
        produce: (writer) => produce(writer) as undefined,
        options: {
          ...options,
          lifecycle: {
            onStart: (stats) => started.push(stats),
            onEnd: (stats) => ended.resolve(stats),
          },
        },
      },
    ]);
    running.push(app);
    const { req, res } = await rawRequest(`${app.url}/s`, { headers: { 'accept-encoding': '' } });
    const reader = new EventReader(res);
    await client(reader, () => req.destroy(), app);
    return { stats: await ended.promise, reader, started };
  }

  it('done: events, bytes and heartbeats equal what the client read; time to first event excludes the opening bytes', async () => {
    const { stats, reader, started } = await run(
      { done: { data: '[DONE]' }, open: true, heartbeat: 20 },
      async (writer) => {
        await new Promise((resolve) => setTimeout(resolve, 70)); // heartbeats before the first token
        await writer.send('héllo 🌍');
        await writer.send({ token: 'x' }, { event: 'token', id: '2' });
      },
    );
    expect(started).toHaveLength(1);
    expect(stats.reason).toBe('done');
    expect(stats.events).toBe(2);
    expect(reader.events.map((e) => e.data)).toEqual(['héllo 🌍', '{"token":"x"}', '[DONE]']);
    expect(stats.bytes).toBe(bytes(reader.raw));
    // The opening comment plus one comment per heartbeat.
    expect(stats.heartbeats).toBe(reader.comments.length - 1);
    expect(stats.heartbeats).toBeGreaterThan(0);
    expect(stats.timeToFirstEvent).toBeGreaterThanOrEqual(60);
    expect(stats.duration).toBeGreaterThanOrEqual(stats.timeToFirstEvent as number);
    expect(stats.error).toBeUndefined();
  });

  it('client_gone: the figures are what the client had when it left', async () => {
    const parked = deferred();
    const { stats, reader } = await run(
      { heartbeat: false },
      async (writer) => {
        await writer.send('one');
        await writer.send('two');
        parked.resolve();
        await aborted(writer.signal);
      },
      async (reader, cut) => {
        await reader.waitFor(2);
        await parked.promise;
        cut();
      },
    );
    expect(stats.reason).toBe('client_gone');
    expect(stats.events).toBe(2);
    expect(stats.bytes).toBe(bytes(reader.raw));
    expect(stats.bytes).toBe(bytes('data: one\n\ndata: two\n\n'));
  });

  it('error: the events before the failure, the error frame in the bytes, reason error', async () => {
    const { stats, reader } = await run({ heartbeat: false }, async (writer) => {
      await writer.send('a');
      throw new Error('model crashed');
    });
    expect(stats.reason).toBe('error');
    expect((stats.error as Error).message).toBe('model crashed');
    expect(stats.events).toBe(1);
    expect(reader.events.map((e) => e.event)).toEqual([undefined, 'error']);
    expect(stats.bytes).toBe(bytes(reader.raw));
  });

  it('queue_overflow: every accepted event is counted and delivered', async () => {
    const { stats, reader } = await run(
      { heartbeat: false, queueLimit: 20_000 },
      (writer) => {
        // Ignores backpressure: sends until the queue overflows while the client does not read.
        for (let i = 0; i < 2_000 && !writer.closed; i++)
          void writer.send(`${i} ${'x'.repeat(200)}`);
      },
      async (reader) => reader.ended,
    );
    expect(stats.reason).toBe('queue_overflow');
    const data = reader.events.filter((e) => e.event !== 'error');
    expect(stats.events).toBe(data.length);
    expect(data.length).toBeLessThan(2_000);
    expect(stats.bytes).toBe(bytes(reader.raw));
  });

  it('drain: the drain frame is in the bytes, reason drain', async () => {
    const { stats, reader } = await run(
      { heartbeat: false },
      async (writer) => {
        await writer.send('a');
        await aborted(writer.signal);
      },
      async (reader, _cut, app) => {
        await reader.waitFor(1);
        await drain({ server: app.server, window: 0, retry: 10, retryJitter: 0 });
        await reader.ended;
      },
    );
    expect(stats.reason).toBe('drain');
    expect(stats.events).toBe(1);
    expect(reader.events.map((e) => e.event)).toEqual([undefined, 'ssekit.drain']);
    expect(stats.bytes).toBe(bytes(reader.raw));
  });

  it('limit: reason limit, the limit frame in the bytes', async () => {
    const { stats, reader } = await run({ heartbeat: false, maxLifetime: 80 }, async (writer) => {
      await writer.send('a');
      await aborted(writer.signal);
    });
    expect(stats.reason).toBe('limit');
    expect(stats.events).toBe(1);
    expect(reader.events.map((e) => e.event)).toEqual([undefined, 'ssekit.limit']);
    expect(stats.bytes).toBe(bytes(reader.raw));
  });

  it('error before the first frame: reason error, nothing sent', async () => {
    const { stats } = await run(
      {},
      () => {
        throw new Error('no model');
      },
      async (reader) => reader.ended,
    );
    expect(stats.reason).toBe('error');
    expect(stats.events).toBe(0);
    expect(stats.bytes).toBe(0);
    expect(stats.timeToFirstEvent).toBeUndefined();
  });
});

describe('lifecycle hooks', () => {
  it('carries the resume outcome reported through the writer', async () => {
    const ended = deferred<StreamStats>();
    const response = await toSseResponse(
      (writer) => {
        reportResume(writer, 'continued');
        void writer.send('x');
        writer.close();
      },
      { lifecycle: { onEnd: (stats) => ended.resolve(stats) } },
    );
    await response.text();
    expect((await ended.promise).resume).toBe('continued');
  });

  const hostile = ['é', '🌍', 'a\ud800b', 'ü'.repeat(30_000), 'x'.repeat(70_000), '\udfff'];

  it('counts the bytes a web stream sends: multi-byte, lone surrogates, long frames', async () => {
    const ended = deferred<StreamStats>();
    const response = await toSseResponse(hostile, {
      lifecycle: { onEnd: (stats) => ended.resolve(stats) },
    });
    const received = (await response.arrayBuffer()).byteLength;
    const stats = await ended.promise;
    expect(stats.bytes).toBe(received);
    expect(stats.events).toBe(hostile.length);
  });

  it('counts each frame as UTF-8 on a transport that does not count its bytes', async () => {
    const ended = deferred<StreamStats>();
    const chunks: string[] = [];
    const run = runStream(
      {
        commit() {},
        write: (chunk) => (chunks.push(chunk), true),
        waitForDrain: () => Promise.resolve(),
        close() {},
      },
      hostile,
      resolveOptions({ lifecycle: { onEnd: (stats) => ended.resolve(stats) } }),
    );
    await run.done;
    const stats = await ended.promise;
    // Encoded by Node's Buffer, not by the TextEncoder ssekit counts with.
    expect(stats.bytes).toBe(Buffer.byteLength(chunks.join('')));
  });

  it('calls every hook of an array, onFirstEvent once at the first event', async () => {
    const calls: string[] = [];
    const response = await toSseResponse(['a', 'b'], {
      lifecycle: [
        { onStart: () => calls.push('1:start'), onEnd: (s) => calls.push(`1:end ${s.events}`) },
        { onFirstEvent: (s) => calls.push(`2:first ${s.events}`) },
      ],
    });
    await response.text();
    expect(calls).toEqual(['1:start', '2:first 1', '1:end 2']);
  });

  it('sends a throwing hook to onError and keeps the stream intact', async () => {
    const errors: unknown[] = [];
    const response = await toSseResponse(['a', 'b'], {
      onError: (error) => errors.push(error),
      lifecycle: {
        onStart() {
          throw new Error('hook bug');
        },
      },
    });
    expect(await response.text()).toBe('data: a\n\ndata: b\n\n');
    expect(errors.map((e) => (e as Error).message)).toEqual(['hook bug']);
  });

  it('names a lifecycle that is not an object', async () => {
    await expect(toSseResponse([], { lifecycle: 'yes' as never })).rejects.toThrow(/`lifecycle`/);
  });
});
