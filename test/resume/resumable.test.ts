/**
 * Resumable streams on a real node:http server with the memory store: ids, resume, reset, 204,
 * disconnect versus stop, fencing, authorize, formats and the result of a generation.
 */
import { once } from 'node:events';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { customFormat, isSseError, type Producer, type SseOptions, toSseResponse } from 'ssekit';
import {
  createResumable,
  memoryStore,
  type ResumableOptions,
  type ResumeStore,
} from 'ssekit/resume';
import { readEvents, serveResumable, sleep, type TestServer, tokens, waitFor } from './helpers.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
});

async function setup(
  produce: (id: string, body: string) => Producer,
  options: ResumableOptions = {},
  streamOptions?: SseOptions,
): Promise<TestServer & { store: ResumeStore }> {
  const store = options.store ?? memoryStore();
  const resumable = createResumable({ ...options, store });
  const server = await serveResumable(resumable, produce, streamOptions);
  open.push(store, resumable, server);
  return Object.assign(server, { store });
}

const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i + 1} `);
const dataOf = (events: { event?: string | undefined; data: string }[]): string[] =>
  events.filter((e) => e.event === undefined).map((e) => e.data);

describe('ids and resume', () => {
  it('a start streams every event with an id <gen>.<seq>, then the done frame', async () => {
    const { url } = await setup(() => tokens(words(5)).producer);
    const { status, headers, events, ended } = await readEvents(`${url}/s/a`, { method: 'POST' });
    expect(status).toBe(200);
    expect(ended).toBe(true);
    const gen = headers.get('ssekit-cursor')?.split('.')[0] as string;
    expect(headers.get('ssekit-resume')).toBe('new');
    expect(headers.get('ssekit-cursor')).toBe(`${gen}.0`);
    expect(gen).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(events.map((e) => e.id)).toEqual(
      [1, 2, 3, 4, 5].map((n) => `${gen}.${n}`).concat([undefined as never]),
    );
    expect(dataOf(events)).toEqual(words(5));
    expect(events.at(-1)?.event).toBe('done');
  });

  it('a resume with Last-Event-ID gets exactly the events after it, then the live tail, then done', async () => {
    const { url } = await setup(() => tokens(words(30), 5).producer);
    const first = await readEvents(`${url}/s/b`, { method: 'POST', count: 7 });
    const last = first.events.at(-1)?.id as string;
    expect(last.endsWith('.7')).toBe(true);
    const rest = await readEvents(`${url}/s/b/stream`, { lastEventId: last });
    expect(rest.headers.get('ssekit-resume')).toBe('continued');
    expect(rest.headers.get('ssekit-cursor')).toBe(last);
    expect([...dataOf(first.events), ...dataOf(rest.events)]).toEqual(words(30));
    expect(rest.events.at(-1)?.event).toBe('done');
  });

  it('a resume with no cursor replays from the start (the AI SDK contract)', async () => {
    const { url } = await setup(() => tokens(words(4)).producer);
    await readEvents(`${url}/s/c`, { method: 'POST' });
    const replay = await readEvents(`${url}/s/c/stream`);
    expect(replay.status).toBe(200);
    expect(dataOf(replay.events)).toEqual(words(4));
  });

  it('answers 204 for an unknown stream and for a finished one read to its end', async () => {
    const { url } = await setup(() => tokens(words(3)).producer);
    expect((await fetch(`${url}/s/nope/stream`)).status).toBe(204);
    const all = await readEvents(`${url}/s/d`, { method: 'POST' });
    const last = all.events.filter((e) => e.id !== undefined).at(-1)?.id as string;
    expect((await fetch(`${url}/s/d/stream`, { headers: { 'last-event-id': last } })).status).toBe(
      204,
    );
  });

  it('several readers of one generation each get every event once', async () => {
    const { url } = await setup(() => tokens(words(20), 5).producer);
    const original = readEvents(`${url}/s/e`, { method: 'POST' });
    await sleep(30);
    const [a, b, c] = await Promise.all([
      readEvents(`${url}/s/e/stream`),
      readEvents(`${url}/s/e/stream`),
      original,
    ]);
    for (const got of [a, b, c]) expect(dataOf(got.events)).toEqual(words(20));
  });
});

describe('loss is never silent', () => {
  it('a cursor of another generation gets the reset header and event, then a replay from the start', async () => {
    const { url } = await setup(() => tokens(words(3)).producer);
    await readEvents(`${url}/s/f`, { method: 'POST' });
    const got = await readEvents(`${url}/s/f/stream`, { lastEventId: 'forgedGen.2' });
    expect(got.headers.get('ssekit-resume')).toBe('reset');
    expect(got.events[0]?.event).toBe('ssekit.reset');
    expect(JSON.parse(got.events[0]?.data as string)).toEqual({ reason: 'generation_changed' });
    expect(dataOf(got.events.slice(1))).toEqual(words(3));
  });

  it('a malformed or future cursor is an unknown_cursor reset', async () => {
    const { url } = await setup(() => tokens(words(2)).producer);
    const started = await readEvents(`${url}/s/g`, { method: 'POST' });
    const gen = started.headers.get('ssekit-cursor')?.split('.')[0] as string;
    for (const cursor of ['garbage', `${gen}.99`, `${gen}.-1`, `${gen}.01`]) {
      const got = await readEvents(`${url}/s/g/stream`, { lastEventId: cursor });
      expect(got.headers.get('ssekit-resume')).toBe('reset');
      expect(JSON.parse(got.events[0]?.data as string)).toEqual({ reason: 'unknown_cursor' });
    }
  });

  it('a trimmed cursor gets a trimmed reset, then the retained events (onGap replay)', async () => {
    const store = memoryStore({ retention: { maxEvents: 10 } });
    const { url } = await setup(() => tokens(words(25)).producer, { store });
    const all = await readEvents(`${url}/s/h`, { method: 'POST' });
    const gen = all.headers.get('ssekit-cursor')?.split('.')[0] as string;
    const got = await readEvents(`${url}/s/h/stream`, { lastEventId: `${gen}.3` });
    expect(got.headers.get('ssekit-resume')).toBe('reset');
    expect(got.events[0]).toMatchObject({ event: 'ssekit.reset', id: `${gen}.15` });
    expect(JSON.parse(got.events[0]?.data as string)).toEqual({ reason: 'trimmed' });
    expect(got.headers.get('ssekit-cursor')).toBe(`${gen}.15`);
    expect(dataOf(got.events.slice(1))).toEqual(words(25).slice(15));
  });

  it("onGap 'end' ends after the reset, with the last id so a reconnect gets 204", async () => {
    const store = memoryStore({ retention: { maxEvents: 10 } });
    const { url } = await setup(() => tokens(words(25)).producer, { store, onGap: 'end' });
    const all = await readEvents(`${url}/s/i`, { method: 'POST' });
    const gen = all.headers.get('ssekit-cursor')?.split('.')[0] as string;
    const got = await readEvents(`${url}/s/i/stream`, { lastEventId: `${gen}.3` });
    expect(got.events.map((e) => e.event)).toEqual(['ssekit.reset', 'done']);
    expect(got.events[0]?.id).toBe(`${gen}.25`);
    expect(
      (await fetch(`${url}/s/i/stream`, { headers: { 'last-event-id': `${gen}.25` } })).status,
    ).toBe(204);
  });

  it('a producer that throws ends every reader with event: error {"code":"internal_error"}', async () => {
    const { url } = await setup(() => async (writer) => {
      await writer.send('one');
      throw new Error('secret internal detail');
    });
    const got = await readEvents(`${url}/s/j`, { method: 'POST' });
    expect(got.events.at(-1)?.event).toBe('error');
    expect(JSON.parse(got.events.at(-1)?.data as string)).toEqual({
      code: 'internal_error',
      error: 'Internal Server Error',
    });
    expect(JSON.stringify(got.events)).not.toContain('secret');
    const resumed = await readEvents(`${url}/s/j/stream`);
    expect(dataOf(resumed.events)).toEqual(['one']);
    expect(JSON.parse(resumed.events.at(-1)?.data as string)).toMatchObject({
      code: 'internal_error',
    });
  });

  it('a producer that throws after sends it did not await still stores every accepted event', async () => {
    const { url } = await setup(() => (writer) => {
      for (let i = 0; i < 100; i++) void writer.send(`t${i}`);
      throw new Error('after the sends');
    });
    const got = await readEvents(`${url}/s/j2`, { method: 'POST' });
    expect(dataOf(got.events)).toEqual(Array.from({ length: 100 }, (_, i) => `t${i}`));
    expect(JSON.parse(got.events.at(-1)?.data as string)).toMatchObject({ code: 'internal_error' });
  });

  it('a store append that hangs fails the producer with STORE_UNAVAILABLE and ends readers with store_unavailable', async () => {
    const store = memoryStore();
    let hang = false;
    const errors: unknown[] = [];
    const slow: ResumeStore = {
      instanceId: store.instanceId,
      leaseMs: store.leaseMs,
      create: (...args) => store.create(...args),
      append: (...args) => (hang ? new Promise<void>(() => {}) : store.append(...args)),
      finalize: (...args) => store.finalize(...args),
      meta: (...args) => store.meta(...args),
      read: (...args) => store.read(...args),
      renew: (...args) => store.renew(...args),
      requestStop: (...args) => store.requestStop(...args),
      onStop: (...args) => store.onStop(...args),
      close: () => store.close(),
    };
    let aborted: unknown;
    const { url } = await setup(
      () => async (writer) => {
        writer.signal.addEventListener('abort', () => {
          aborted = writer.signal.reason as unknown;
        });
        await writer.send('stored');
        await sleep(30);
        hang = true;
        await writer.send('never stored');
        await sleep(5000);
      },
      { store: slow, storeTimeoutMs: 200, onError: (error) => errors.push(error) },
    );
    const started = Date.now();
    const got = await readEvents(`${url}/s/hang`, { method: 'POST' });
    expect(Date.now() - started).toBeLessThan(3000);
    expect(dataOf(got.events)).toEqual(['stored']);
    expect(JSON.parse(got.events.at(-1)?.data as string)).toEqual({
      code: 'store_unavailable',
      error: 'The stream store is unavailable',
    });
    expect(isSseError(aborted) && aborted.code).toBe('STORE_UNAVAILABLE');
    expect(errors.some((error) => isSseError(error) && error.code === 'STORE_UNAVAILABLE')).toBe(
      true,
    );
  });

  /** The memory store behind appends that each wait `delay(k)` ms (k: the append's index). */
  function delayed(delay: (k: number) => number, fail?: (k: number) => boolean) {
    const store = memoryStore();
    const seen = { inFlight: 0, maxInFlight: 0, appends: 0 };
    const wrapped: ResumeStore = {
      instanceId: store.instanceId,
      leaseMs: store.leaseMs,
      create: (...args) => store.create(...args),
      append: async (...args) => {
        const k = seen.appends++;
        seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
        try {
          // Sent in order, settled out of order: a later append may finish first.
          if (fail?.(k) === true) {
            await sleep(delay(k));
            throw new Error(`append ${String(k)} failed`);
          }
          // The store sees appends in the order sent; its outcome is taken after the delay.
          const outcome = store.append(...args).then(
            () => undefined,
            (error: unknown) => ({ error }),
          );
          await sleep(delay(k));
          const refused = await outcome;
          if (refused !== undefined) throw refused.error;
        } finally {
          seen.inFlight--;
        }
      },
      finalize: (...args) => store.finalize(...args),
      meta: (...args) => store.meta(...args),
      read: (...args) => store.read(...args),
      renew: (...args) => store.renew(...args),
      requestStop: (...args) => store.requestStop(...args),
      onStop: (...args) => store.onStop(...args),
      close: () => store.close(),
    };
    return { store: wrapped, seen };
  }

  it('pipelined appends that settle out of order reach the reader in seq order, each once', async () => {
    const { store, seen } = delayed((k) => Math.max(0, 60 - 15 * (k % 4)));
    const { url } = await setup(
      () => async (writer) => {
        for (const word of words(12)) {
          await writer.send(word);
          await sleep(2); // each its own flush
        }
      },
      { store },
    );
    const got = await readEvents(`${url}/s/pipe`, { method: 'POST' });
    expect(dataOf(got.events)).toEqual(words(12));
    const gen = got.headers.get('ssekit-cursor')?.split('.')[0] as string;
    expect(got.events.filter((e) => e.event === undefined).map((e) => e.id)).toEqual(
      words(12).map((_, i) => `${gen}.${String(i + 1)}`),
    );
    expect(seen.maxInFlight).toBeGreaterThan(1);
  });

  it('when an append in flight fails, the reader gets the events before it, then store_unavailable; none after it', async () => {
    const errors: unknown[] = [];
    const { store, seen } = delayed(
      (k) => (k === 2 ? 80 : 5),
      (k) => k === 2,
    );
    const { url } = await setup(
      () => async (writer) => {
        for (const word of words(12)) {
          await writer.send(word);
          await sleep(2);
        }
      },
      { store, onError: (error) => errors.push(error) },
    );
    const got = await readEvents(`${url}/s/pipe-fail`, { method: 'POST' });
    const data = dataOf(got.events);
    // Appends 0 and 1 held one word each (or a few): what the reader got is a prefix, and ends
    // where the failed append began.
    expect(words(12).slice(0, data.length)).toEqual(data);
    expect(data.length).toBeGreaterThan(0);
    expect(data.length).toBeLessThan(12);
    expect(JSON.parse(got.events.at(-1)?.data as string)).toMatchObject({
      code: 'store_unavailable',
    });
    expect(seen.maxInFlight).toBeGreaterThan(1);
    expect(errors.some((error) => isSseError(error) && error.code === 'STORE_UNAVAILABLE')).toBe(
      true,
    );
  });

  it('a generation whose producer stopped renewing ends its followers with producer_lost, and can start again', async () => {
    const store = memoryStore({ leaseMs: 200 });
    const { url } = await setup(() => tokens(words(2)).producer, { store });
    // A producer on a process that died: its generation is in the store, nobody renews it.
    await store.create('k', { gen: 'deadGen', ifRunning: 'conflict' });
    await store.append('k', 'deadGen', [{ seq: 1, data: 'partial' }]);
    const started = Date.now();
    const got = await readEvents(`${url}/s/k/stream`);
    expect(Date.now() - started).toBeLessThan(2 * 200 + 1000);
    expect(dataOf(got.events)).toEqual(['partial']);
    expect(got.events.at(-1)?.event).toBe('error');
    expect(JSON.parse(got.events.at(-1)?.data as string)).toEqual({
      code: 'producer_lost',
      error: 'The producer of this stream was lost',
    });
    const again = await readEvents(`${url}/s/k`, { method: 'POST' });
    expect(again.headers.get('ssekit-resume')).toBe('new');
    expect(dataOf(again.events)).toEqual(words(2));
  });
});

describe('disconnect is not stop; stop from anywhere', () => {
  it('the producer goes on after its client left, then is aborted after continueForMs without readers', async () => {
    const run = tokens(words(1000), 10);
    const { url, store } = await setup(() => run.producer, { continueForMs: 300 });
    const first = await readEvents(`${url}/s/l`, { method: 'POST', count: 3 });
    await sleep(150);
    expect(run.aborted()).toBe(false);
    const meta = await store.meta('l');
    expect(meta?.lastSeq).toBeGreaterThan(3); // it went on producing for nobody, for now
    await waitFor(() => run.aborted(), 3000);
    await waitFor(async () => (await store.meta('l'))?.state === 'stopped');
    expect(await store.meta('l')).toMatchObject({ state: 'stopped', reason: 'detached' });
    expect(first.ended).toBe(false);
  });

  it('a reader that comes back within continueForMs keeps the producer going to its end', async () => {
    const run = tokens(words(40), 10);
    const { url } = await setup(() => run.producer, { continueForMs: 300 });
    const first = await readEvents(`${url}/s/m`, { method: 'POST', count: 2 });
    await sleep(100);
    const rest = await readEvents(`${url}/s/m/stream`, { lastEventId: first.events.at(-1)?.id });
    expect(run.aborted()).toBe(false);
    expect(run.finished()).toBe(true);
    expect([...dataOf(first.events), ...dataOf(rest.events)]).toEqual(words(40));
  });

  it('stop aborts the producer signal, ends every reader with done, and is idempotent', async () => {
    const run = tokens(words(1000), 10);
    const { url, store } = await setup(() => run.producer);
    const reading = readEvents(`${url}/s/n`, { method: 'POST' });
    await sleep(60);
    const follower = readEvents(`${url}/s/n/stream`);
    await sleep(30);
    const stop = await fetch(`${url}/s/n/stop`, { method: 'POST' });
    expect(await stop.json()).toEqual({ stopped: true });
    expect(run.aborted()).toBe(true);
    const [a, b] = await Promise.all([reading, follower]);
    for (const got of [a, b]) {
      expect(got.ended).toBe(true);
      expect(got.events.at(-1)?.event).toBe('done');
    }
    expect(dataOf(b.events)).toEqual(dataOf(a.events));
    expect(await store.meta('n')).toMatchObject({ state: 'stopped', reason: 'stopped' });
    expect(await (await fetch(`${url}/s/n/stop`, { method: 'POST' })).json()).toEqual({
      stopped: false,
    });
    expect(await (await fetch(`${url}/s/unknown/stop`, { method: 'POST' })).json()).toEqual({
      stopped: false,
    });
  });

  it('a stop requested through the store (another instance) reaches the producer', async () => {
    const run = tokens(words(1000), 10);
    const { url, store } = await setup(() => run.producer);
    const reading = readEvents(`${url}/s/o`, { method: 'POST' });
    await sleep(50);
    await store.requestStop('o');
    await waitFor(() => run.aborted(), 2000);
    expect((await reading).events.at(-1)?.event).toBe('done');
  });
});

describe('fencing', () => {
  it('a second start of a running id joins it: one producer, the same events', async () => {
    let producers = 0;
    const { url } = await setup(() => {
      producers++;
      return tokens(words(10), 5).producer;
    });
    const a = readEvents(`${url}/s/p`, { method: 'POST' });
    await sleep(20);
    const b = await readEvents(`${url}/s/p`, { method: 'POST' });
    expect(b.headers.get('ssekit-resume')).toBe('continued');
    expect(dataOf(b.events)).toEqual(words(10));
    expect(dataOf((await a).events)).toEqual(words(10));
    expect(producers).toBe(2); // both requests made a producer function; only one ran
  });

  it("ifRunning 'conflict' answers 409", async () => {
    const { url } = await setup(() => tokens(words(100), 10).producer, { ifRunning: 'conflict' });
    const a = readEvents(`${url}/s/q`, { method: 'POST', count: 1 });
    await sleep(20);
    expect((await fetch(`${url}/s/q`, { method: 'POST' })).status).toBe(409);
    await a;
  });

  it("ifRunning 'replace' aborts the old producer, whose late appends are refused", async () => {
    const errors: unknown[] = [];
    const first = tokens(words(1000), 5);
    const second = tokens(words(3));
    let call = 0;
    const { url, store } = await setup(() => (call++ === 0 ? first.producer : second.producer), {
      ifRunning: 'replace',
      onError: (error) => errors.push(error),
    });
    const a = readEvents(`${url}/s/r`, { method: 'POST' });
    await sleep(40);
    const b = await readEvents(`${url}/s/r`, { method: 'POST' });
    expect(dataOf(b.events)).toEqual(words(3));
    await waitFor(() => first.aborted());
    const old = await a;
    expect(old.events.at(-1)?.event).toBe('done'); // ended as stopped (replaced)
    const meta = await store.meta('r');
    expect(meta?.gen).toBe(b.headers.get('ssekit-cursor')?.split('.')[0]);
    // A stale producer writing after it was replaced is fenced by the store.
    await expect(
      store.append('r', old.headers.get('ssekit-cursor')?.split('.')[0] as string, [
        { seq: 1, data: 'x' },
      ]),
    ).rejects.toSatisfy((error) => isSseError(error) && error.code === 'STORE_FENCED');
  });
});

describe('access', () => {
  it('authorize runs before any read: 403, and the store is never read', async () => {
    const store = memoryStore();
    let reads = 0;
    const counting: ResumeStore = {
      instanceId: store.instanceId,
      leaseMs: store.leaseMs,
      create: (...args) => store.create(...args),
      append: (...args) => store.append(...args),
      finalize: (...args) => store.finalize(...args),
      meta: (...args) => store.meta(...args),
      read: (...args) => {
        reads++;
        return store.read(...args);
      },
      renew: (...args) => store.renew(...args),
      requestStop: (...args) => store.requestStop(...args),
      onStop: (...args) => store.onStop(...args),
      close: () => store.close(),
    };
    const { url } = await setup(() => tokens(words(3)).producer, {
      store: counting,
      authorize: (request, _id, meta) =>
        (request as { headers: Record<string, string> }).headers['x-user'] === meta.tags['userId'],
    });
    await store.create('t', { gen: 'g1', ifRunning: 'join', tags: { userId: 'alice' } });
    await store.append('t', 'g1', [{ seq: 1, data: 'private' }]);
    await store.finalize('t', 'g1', { state: 'done', reason: undefined });
    const refused = await fetch(`${url}/s/t/stream`, {
      headers: { 'x-user': 'mallory', 'last-event-id': 'g1.0' },
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe('');
    expect(reads).toBe(0);
    const allowed = await readEvents(`${url}/s/t/stream`, { headers: { 'x-user': 'alice' } });
    expect(dataOf(allowed.events)).toEqual(['private']);
    expect(reads).toBe(1);
  });

  it("a cursor from stream X presented on stream Y gets a reset and Y's own events, never X's", async () => {
    const { url } = await setup((id) => tokens(id === 'x' ? ['secret-x'] : ['y1', 'y2']).producer);
    const x = await readEvents(`${url}/s/x`, { method: 'POST' });
    await readEvents(`${url}/s/y`, { method: 'POST' });
    const xCursor = x.events[0]?.id as string;
    const got = await readEvents(`${url}/s/y/stream`, { lastEventId: xCursor });
    expect(got.headers.get('ssekit-resume')).toBe('reset');
    expect(JSON.stringify(got.events)).not.toContain('secret-x');
    expect(dataOf(got.events.slice(1))).toEqual(['y1', 'y2']);
  });
});

describe('every frame format', () => {
  it('NDJSON: the cursor travels in SSEKit-Cursor and the cursor query parameter', async () => {
    const { url } = await setup(
      () => tokens(words(6), 5).producer,
      { format: 'ndjson' },
      { format: 'ndjson', heartbeat: false },
    );
    const response = await fetch(`${url}/s/u`, { method: 'POST' });
    const cursor = response.headers.get('ssekit-cursor') as string;
    const gen = cursor.split('.')[0] as string;
    expect(cursor).toBe(`${gen}.0`);
    const lines = (await response.text())
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as string);
    expect(lines).toEqual(words(6));
    // A client that counted 4 lines resumes after the 4th.
    const rest = await fetch(`${url}/s/u/stream?cursor=${gen}.4`);
    expect(rest.headers.get('ssekit-cursor')).toBe(`${gen}.4`);
    expect(rest.headers.get('ssekit-resume')).toBe('continued');
    expect(
      (await rest.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string),
    ).toEqual(words(6).slice(4));
    // A reset is the header only: no foreign line in the data.
    const reset = await fetch(`${url}/s/u/stream?cursor=other.1`);
    expect(reset.headers.get('ssekit-resume')).toBe('reset');
    expect(reset.headers.get('ssekit-cursor')).toBe(`${gen}.0`);
    expect(
      (await reset.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string),
    ).toEqual(words(6));
  });

  it('raw text: the same cursor header and query', async () => {
    const { url } = await setup(
      () => tokens(['a', 'b', 'c']).producer,
      { format: 'raw' },
      { format: 'raw', heartbeat: false },
    );
    const response = await fetch(`${url}/s/v`, { method: 'POST' });
    const gen = (response.headers.get('ssekit-cursor') as string).split('.')[0] as string;
    expect(await response.text()).toBe('abc');
    const rest = await fetch(`${url}/s/v/stream?cursor=${gen}.1`);
    expect(await rest.text()).toBe('bc');
  });

  it('a custom format: the same cursor header and query, and a reset that is the header only', async () => {
    const lines = customFormat({ prefix: 'token=', suffix: '\n' });
    const { url } = await setup(
      () => tokens(['a', 'b', 'c']).producer,
      { format: lines },
      {
        format: lines,
        heartbeat: false,
      },
    );
    const response = await fetch(`${url}/s/cf`, { method: 'POST' });
    const gen = (response.headers.get('ssekit-cursor') as string).split('.')[0] as string;
    expect(await response.text()).toBe('token=a\ntoken=b\ntoken=c\n');
    const rest = await fetch(`${url}/s/cf/stream?cursor=${gen}.2`);
    expect(rest.headers.get('ssekit-resume')).toBe('continued');
    expect(await rest.text()).toBe('token=c\n');
    const reset = await fetch(`${url}/s/cf/stream?cursor=elsewhere.1`);
    expect(reset.headers.get('ssekit-resume')).toBe('reset');
    expect(await reset.text()).toBe('token=a\ntoken=b\ntoken=c\n');
  });

  it('SSE with a named endpoint event and JSON data keeps names and values', async () => {
    const { url } = await setup(
      () => async (writer) => {
        await writer.send({ token: 'é', n: 1 });
        await writer.send('plain', { event: 'note' });
      },
      {},
      { event: 'delta', done: { data: '[DONE]' }, heartbeat: false },
    );
    const got = await readEvents(`${url}/s/w`, { method: 'POST' });
    expect(got.events.map((e) => [e.event, e.data])).toEqual([
      ['delta', '{"token":"é","n":1}'],
      ['note', 'plain'],
      [undefined, '[DONE]'],
    ]);
  });

  it('a producer that sends its own id is refused: ids are assigned by ssekit', async () => {
    let refused: unknown;
    const { url } = await setup(() => async (writer) => {
      try {
        await writer.send('x', { id: 'mine' });
      } catch (error) {
        refused = error;
      }
      await writer.send('ok');
    });
    const got = await readEvents(`${url}/s/z`, { method: 'POST' });
    expect(isSseError(refused) && refused.code).toBe('INVALID_ID');
    expect(dataOf(got.events)).toEqual(['ok']);
  });
});

describe('the stream toggle', () => {
  it('result() waits for the generation and answers its joined text as one JSON document', async () => {
    const { url } = await setup(() => tokens(['Hel', 'lo', '!'], 10).producer);
    const reading = readEvents(`${url}/s/res`, { method: 'POST', count: 1 });
    await reading;
    const response = await fetch(`${url}/s/res/result`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      text: 'Hello!',
      end: { state: 'done' },
      complete: true,
    });
    expect((await fetch(`${url}/s/none/result`)).status).toBe(204);
  });
});

describe('bounded readers', () => {
  it('a paused follower is cut at its bound without delaying the others, then resumes from its id', async () => {
    const store = memoryStore({ readerLimit: 32 });
    const big = 'x'.repeat(64 * 1024);
    const count = 200; // 12.5 MiB: more than a paused socket's buffers hold (about 4 MiB here)
    const { url } = await setup(
      () => async (writer) => {
        for (let i = 1; i <= count; i++) {
          await writer.send(`${i}:${big}`);
          await sleep(2); // about 30 MB/s: a reader that reads keeps up
        }
      },
      { store },
    );
    // The paused follower: a raw socket that sends its GET and then reads nothing.
    const { host, port } = new URL(url);
    const paused = connect(Number(port), host.split(':')[0] as string);
    await once(paused, 'connect');
    paused.pause();
    const received: Buffer[] = [];
    paused.on('data', (chunk: Buffer) => received.push(chunk));
    const start = readEvents(`${url}/s/slow`, { method: 'POST', count: 1 });
    await start;
    paused.write(`GET /s/slow/stream HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
    await sleep(20);
    // Another follower reads everything, at full speed, while the paused one holds its bytes.
    const started = Date.now();
    const active = await readEvents(`${url}/s/slow/stream`);
    const elapsed = Date.now() - started;
    expect(active.events.filter((e) => e.id !== undefined)).toHaveLength(count);
    expect(active.events.at(-1)?.event).toBe('done');
    expect(elapsed).toBeLessThan(15_000); // not held back by the paused reader
    // The paused one now reads: what it was sent, then the end without a done frame (it was cut).
    const ended = once(paused, 'end');
    paused.resume();
    await ended;
    const raw = Buffer.concat(received).toString('utf8');
    const body = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    const ids = [...body.matchAll(/^id: (\S+)$/gm)].map((m) => m[1] as string);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.length).toBeLessThan(count);
    expect(body).not.toContain('event: done');
    // It resumes from its last id and gets exactly the rest.
    const rest = await readEvents(`${url}/s/slow/stream`, { lastEventId: ids.at(-1) });
    const restIds = rest.events.filter((e) => e.id !== undefined).map((e) => e.id);
    expect(ids.length + restIds.length).toBe(count);
    expect(restIds[0]).toBe(`${(ids.at(-1) as string).split('.')[0]}.${ids.length + 1}`);
    paused.destroy();
  }, 60_000);
});

describe('fetch runtimes', () => {
  it('a reply pipes through toSseResponse with its headers, and resumes the same way', async () => {
    const resumable = createResumable();
    open.push(resumable, resumable.store);
    const reply = await resumable.start('web', ['a', 'b', 'c']);
    const response = await toSseResponse(reply.source as AsyncIterable<unknown>, {
      headers: { ...reply.headers },
      done: { data: '[DONE]' },
      heartbeat: false,
    });
    expect(response.headers.get('ssekit-resume')).toBe('new');
    const gen = reply.gen as string;
    expect(await response.text()).toBe(
      `id: ${gen}.1\ndata: a\n\nid: ${gen}.2\ndata: b\n\nid: ${gen}.3\ndata: c\n\ndata: [DONE]\n\n`,
    );
    const again = await resumable.resume('web', { cursor: `${gen}.1` });
    const rest = await toSseResponse(again.source as AsyncIterable<unknown>, {
      headers: { ...again.headers },
      heartbeat: false,
    });
    expect(rest.headers.get('ssekit-cursor')).toBe(`${gen}.1`);
    expect(await rest.text()).toBe(`id: ${gen}.2\ndata: b\n\nid: ${gen}.3\ndata: c\n\n`);
  });
});

describe('a start that joins', () => {
  it('stops a source made for it that will not be read (its upstream call ends)', async () => {
    const resumable = createResumable();
    open.push(resumable, resumable.store);
    const first = await resumable.start(
      'j',
      (async function* () {
        yield 'a';
        await sleep(200);
        yield 'b';
      })(),
    );
    let returned = false;
    const unused = (async function* () {
      try {
        await Promise.resolve();
        yield 'never';
      } finally {
        returned = true;
      }
    })();
    await unused.next(); // started, like an SDK stream that has already sent its request
    const joined = await resumable.start('j', unused);
    expect(joined.headers['ssekit-resume']).toBe('continued');
    await waitFor(() => returned);
    await first.source?.return?.();
    await joined.source?.return?.();
  });
});
