/**
 * The store conformance suite: every {@link ResumeStore} (memory, Redis with each client) runs
 * these same specifications. Call {@link describeStoreConformance} from a test file with a
 * factory that makes a fresh store (and cleans up after it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isSseError, type SseErrorCode } from 'ssekit';
import type { ReadBatch, ResumeStore, StoredEvent, StoreOptions, StreamEnd } from 'ssekit/resume';

/** What a factory hands the suite. */
export interface StoreUnderTest {
  /** A fresh store with the given options, on an empty backend (or a fresh key prefix). */
  store: ResumeStore;
  /** Closes the store and releases what the factory made. */
  cleanup: () => Promise<void>;
  /**
   * Another instance on the same backend (another process's view), when the store supports more
   * than one; the suite's cross-instance specifications run only when it is given.
   */
  peer?: (() => Promise<ResumeStore>) | undefined;
}

/** Makes a store for one specification. */
export type StoreFactory = (options: StoreOptions) => Promise<StoreUnderTest>;

const events = (from: number, to: number, prefix = 'e'): StoredEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    seq: from + i,
    data: `${prefix}${from + i}`,
  }));

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads until the end (or `count` events, or an error), with a deadline. */
async function collect(
  iterable: AsyncIterable<ReadBatch>,
  { count = Infinity, deadline = 5000 }: { count?: number; deadline?: number } = {},
): Promise<{ events: StoredEvent[]; end: StreamEnd | undefined; error: unknown }> {
  const got: StoredEvent[] = [];
  let end: StreamEnd | undefined;
  let error: unknown;
  const iterator = iterable[Symbol.asyncIterator]();
  const timeout = sleep(deadline).then(() => 'timeout' as const);
  try {
    while (got.length < count && end === undefined) {
      const step = await Promise.race([iterator.next(), timeout]);
      if (step === 'timeout')
        throw new Error(`read timed out after ${deadline} ms with ${got.length} events`);
      if (step.done) break;
      got.push(...step.value.events);
      end = step.value.end;
    }
  } catch (caught) {
    error = caught;
  } finally {
    if (end === undefined && error === undefined) await iterator.return?.();
  }
  if (error instanceof Error && error.message.startsWith('read timed out')) throw error;
  return { events: got, end, error };
}

function expectCode(error: unknown, code: SseErrorCode): void {
  expect(isSseError(error), `expected SseError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/**
 * Registers the store conformance suite for one store.
 * @param name - the store's name in the test report
 * @param makeStore - makes a fresh store with the given options
 */
export function describeStoreConformance(name: string, makeStore: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    const made: StoreUnderTest[] = [];
    const extra: ResumeStore[] = [];
    afterEach(async () => {
      for (const store of extra.splice(0)) await store.close();
      for (const { cleanup } of made.splice(0)) await cleanup();
    });
    async function open(options: StoreOptions = {}): Promise<StoreUnderTest> {
      const under = await makeStore(options);
      made.push(under);
      return under;
    }
    let next = 0;
    const id = (): string => `stream-${Date.now().toString(36)}-${next++}`;

    describe('create and fencing', () => {
      it('a first create makes a live producer generation with lastSeq 0 and the tags', async () => {
        const { store } = await open();
        const sid = id();
        const result = await store.create(sid, {
          gen: 'g1',
          ifRunning: 'join',
          tags: { userId: 'u1' },
        });
        expect(result.role).toBe('producer');
        expect(result.meta).toMatchObject({
          streamId: sid,
          gen: 'g1',
          state: 'live',
          lastSeq: 0,
          firstSeq: 1,
          tags: { userId: 'u1' },
          owner: store.instanceId,
        });
        expect(result.meta.reason).toBeUndefined();
        expect(await store.meta(sid)).toMatchObject({ gen: 'g1', state: 'live' });
      });

      it('a second create of a running id joins, conflicts or replaces, as asked', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        const joined = await store.create(sid, { gen: 'g2', ifRunning: 'join' });
        expect(joined).toMatchObject({ role: 'follower', meta: { gen: 'g1' } });
        const conflict = await store.create(sid, { gen: 'g3', ifRunning: 'conflict' });
        expect(conflict).toMatchObject({ role: 'conflict', meta: { gen: 'g1' } });
        expect((await store.meta(sid))?.gen).toBe('g1');
        const replaced = await store.create(sid, { gen: 'g4', ifRunning: 'replace' });
        expect(replaced).toMatchObject({ role: 'producer', meta: { gen: 'g4', lastSeq: 0 } });
      });

      it('concurrent creates of one id give exactly one producer', async () => {
        const { store } = await open();
        const sid = id();
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            store.create(sid, { gen: `c${i}`, ifRunning: 'join' }),
          ),
        );
        const producers = results.filter((r) => r.role === 'producer');
        expect(producers).toHaveLength(1);
        const gen = producers[0]?.meta.gen;
        for (const r of results) expect(r.meta.gen).toBe(gen);
      });

      it("a replaced generation's producer is fenced: its appends, renewals and finalize are refused", async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'old', ifRunning: 'join' });
        await store.append(sid, 'old', events(1, 2));
        await store.create(sid, { gen: 'new', ifRunning: 'replace' });
        expectCode(await rejection(store.append(sid, 'old', events(3, 3))), 'STORE_FENCED');
        expectCode(await rejection(store.renew(sid, 'old')), 'STORE_FENCED');
        expect(await store.finalize(sid, 'old', { state: 'done', reason: undefined })).toBe(false);
        expect(await store.meta(sid)).toMatchObject({ gen: 'new', state: 'live', lastSeq: 0 });
      });

      it('appends to a finished generation or an unknown stream are fenced', async () => {
        const { store } = await open();
        const sid = id();
        expectCode(await rejection(store.append(sid, 'g1', events(1, 1))), 'STORE_FENCED');
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        expectCode(await rejection(store.append(sid, 'g1', events(1, 1))), 'STORE_FENCED');
      });

      it('a create after a finished generation starts a new one', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'conflict' });
        await store.append(sid, 'g1', events(1, 3));
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const again = await store.create(sid, { gen: 'g2', ifRunning: 'conflict' });
        expect(again).toMatchObject({
          role: 'producer',
          meta: { gen: 'g2', lastSeq: 0, state: 'live' },
        });
      });

      it('a create over a live generation whose lease lapsed finalizes it lost and starts anew', async () => {
        const { store } = await open({ leaseMs: 100 });
        const sid = id();
        await store.create(sid, { gen: 'dead', ifRunning: 'conflict' });
        await sleep(250);
        const again = await store.create(sid, { gen: 'next', ifRunning: 'conflict' });
        expect(again).toMatchObject({ role: 'producer', meta: { gen: 'next' } });
        expectCode(await rejection(store.append(sid, 'dead', events(1, 1))), 'STORE_FENCED');
      });
    });

    describe('append and read', () => {
      it('reads the history from a cursor, then the end', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 3));
        await store.append(sid, 'g1', [{ seq: 4, data: { token: 'é' }, event: 'delta' }]);
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const all = await collect(store.read(sid, 'g1', 0));
        expect(all.error).toBeUndefined();
        expect(all.events).toEqual([
          ...events(1, 3),
          { seq: 4, data: { token: 'é' }, event: 'delta' },
        ]);
        expect(all.end).toEqual({ state: 'done', reason: undefined });
        const after2 = await collect(store.read(sid, 'g1', 2));
        expect(after2.events.map((e) => e.seq)).toEqual([3, 4]);
        const atEnd = await collect(store.read(sid, 'g1', 4));
        expect(atEnd.events).toEqual([]);
        expect(atEnd.end?.state).toBe('done');
      });

      it('keeps the meta in step: lastSeq, updatedAt, state and reason', async () => {
        const { store } = await open();
        const sid = id();
        const { meta: first } = await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await sleep(5);
        await store.append(sid, 'g1', events(1, 5));
        const live = await store.meta(sid);
        expect(live).toMatchObject({ lastSeq: 5, firstSeq: 1, state: 'live' });
        expect(live?.updatedAt).toBeGreaterThanOrEqual(first.updatedAt);
        expect(await store.finalize(sid, 'g1', { state: 'error', reason: 'internal_error' })).toBe(
          true,
        );
        expect(await store.finalize(sid, 'g1', { state: 'done', reason: undefined })).toBe(false);
        expect(await store.meta(sid)).toMatchObject({
          state: 'error',
          reason: 'internal_error',
          lastSeq: 5,
        });
      });

      it('hands history over to the live tail from one cursor: no gap, no duplicate', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 600)); // more than one page of history
        const reading = collect(store.read(sid, 'g1', 10));
        for (let seq = 601; seq <= 700; seq += 10) {
          await store.append(sid, 'g1', events(seq, seq + 9));
          if (seq % 30 === 1) await sleep(1);
        }
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const got = await reading;
        expect(got.error).toBeUndefined();
        expect(got.events.map((e) => e.seq)).toEqual(Array.from({ length: 690 }, (_, i) => i + 11));
        expect(got.end?.state).toBe('done');
      });

      it('several readers of one generation each get every event once, in order', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        const readers = [0, 0, 0].map(() => collect(store.read(sid, 'g1', 0)));
        for (let seq = 1; seq <= 50; seq++) await store.append(sid, 'g1', events(seq, seq));
        await store.finalize(sid, 'g1', { state: 'stopped', reason: 'stopped' });
        for (const got of await Promise.all(readers)) {
          expect(got.events.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
          expect(got.end).toEqual({ state: 'stopped', reason: 'stopped' });
        }
      });

      it('takes a retried append (seqs already stored) as done, and refuses a gap', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 3));
        await store.append(sid, 'g1', events(2, 4)); // 2 and 3 are a retry, 4 is new
        expect((await store.meta(sid))?.lastSeq).toBe(4);
        expect(await rejection(store.append(sid, 'g1', events(6, 6)))).toBeInstanceOf(RangeError);
        expect(await rejection(store.append(sid, 'g1', []))).toBeInstanceOf(RangeError);
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const got = await collect(store.read(sid, 'g1', 0));
        expect(got.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
      });

      it('keeps strings as strings and JSON values as values, including line breaks and unicode', async () => {
        const { store } = await open();
        const sid = id();
        const data: StoredEvent[] = [
          { seq: 1, data: ' leading space' },
          { seq: 2, data: 'a\nb\r\nc' },
          { seq: 3, data: '{"looks":"like json"}' },
          { seq: 4, data: { nested: [1, 'two', null, true] } },
          { seq: 5, data: 42 },
          { seq: 6, data: '', event: 'empty' },
          { seq: 7, data: '😀 ü' },
        ];
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', data);
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const got = await collect(store.read(sid, 'g1', 0));
        expect(got.events).toEqual(data);
      });

      it('refuses a cursor beyond the last seq with a RangeError', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 2));
        const got = await collect(store.read(sid, 'g1', 9));
        expect(got.error).toBeInstanceOf(RangeError);
      });

      it('a read of another generation (a forged or stale gen) throws GENERATION_GONE', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 2));
        expectCode((await collect(store.read(sid, 'forged', 0))).error, 'GENERATION_GONE');
        expectCode((await collect(store.read(id(), 'g1', 0))).error, 'GENERATION_GONE');
      });

      it('an aborted read finishes and stops counting as a reader', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        const controller = new AbortController();
        const read = store.read(sid, 'g1', 0, { signal: controller.signal });
        const iterator = read[Symbol.asyncIterator]();
        const pending = iterator.next();
        await sleep(20);
        expect((await store.renew(sid, 'g1')).readers).toBe(1);
        controller.abort();
        expect((await pending).done).toBe(true);
        await sleep(20);
        expect((await store.renew(sid, 'g1')).readers).toBe(0);
      });
    });

    describe('bounded readers', () => {
      it('a reader that does not take its events is cut at its limit; the others are not delayed', async () => {
        const { store } = await open({ readerLimit: 1000 });
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        const paused = store.read(sid, 'g1', 0, { limit: 5 })[Symbol.asyncIterator]();
        const first = await Promise.race([paused.next(), sleep(50).then(() => 'waiting' as const)]);
        expect(first).toBe('waiting'); // caught up and following; now it stops taking
        const active = collect(store.read(sid, 'g1', 0));
        for (let seq = 1; seq <= 20; seq++) await store.append(sid, 'g1', events(seq, seq));
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const got = await active;
        expect(got.events).toHaveLength(20);
        expect(got.end?.state).toBe('done');
        // The paused reader's pending next() held at most its limit, then it was cut.
        let error: unknown;
        const seen: StoredEvent[] = [];
        try {
          for (;;) {
            const step = await paused.next();
            if (step.done) break;
            seen.push(...step.value.events);
            if (step.value.end) break;
          }
        } catch (caught) {
          error = caught;
        }
        expectCode(error, 'READER_OVERFLOW');
        expect(seen.length).toBeLessThanOrEqual(5);
      });
    });

    describe('retention', () => {
      it('trims to maxEvents: firstSeq advances, a trimmed cursor cannot be read', async () => {
        const { store } = await open({ retention: { maxEvents: 10 } });
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        for (let seq = 1; seq <= 25; seq += 5) await store.append(sid, 'g1', events(seq, seq + 4));
        const meta = await store.meta(sid);
        expect(meta).toMatchObject({ lastSeq: 25 });
        expect(meta?.firstSeq).toBeGreaterThan(1);
        expect(meta?.firstSeq).toBeLessThanOrEqual(16); // at least the last 10 are kept
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const fromKept = await collect(store.read(sid, 'g1', 15));
        expect(fromKept.events.map((e) => e.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
        expectCode((await collect(store.read(sid, 'g1', 0))).error, 'READER_OVERFLOW');
      });

      it('deletes a finished generation afterDoneMs after its finalize', async () => {
        const { store } = await open({ retention: { afterDoneMs: 100 } });
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 1));
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        expect(await store.meta(sid)).toBeDefined();
        await sleep(400);
        expect(await store.meta(sid)).toBeUndefined();
      });

      it('deletes a live generation idle (no append) for idleMs; its producer is then fenced', async () => {
        const { store } = await open({ retention: { idleMs: 150 } });
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 1));
        await sleep(80);
        await store.append(sid, 'g1', events(2, 2)); // an append refreshes it
        await sleep(100);
        expect(await store.meta(sid)).toMatchObject({ lastSeq: 2 });
        await sleep(400);
        expect(await store.meta(sid)).toBeUndefined();
        expectCode(await rejection(store.append(sid, 'g1', events(3, 3))), 'STORE_FENCED');
      });
    });

    describe('lease and lost producers', () => {
      it('a reader waiting on a live generation whose lease lapsed finalizes it lost', async () => {
        const { store } = await open({ leaseMs: 150 });
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.append(sid, 'g1', events(1, 3));
        const started = Date.now();
        const got = await collect(store.read(sid, 'g1', 1), { deadline: 3000 });
        expect(got.events.map((e) => e.seq)).toEqual([2, 3]);
        expect(got.end).toEqual({ state: 'lost', reason: 'producer_lost' });
        expect(Date.now() - started).toBeLessThan(150 * 2 + 1000);
        expect(await store.meta(sid)).toMatchObject({ state: 'lost', reason: 'producer_lost' });
      });

      it('a producer that renews keeps its generation live past leaseMs', async () => {
        const { store } = await open({ leaseMs: 150 });
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'conflict' });
        const reading = collect(store.read(sid, 'g1', 0), { deadline: 4000 });
        for (let i = 0; i < 8; i++) {
          await sleep(50);
          const renewed = await store.renew(sid, 'g1');
          expect(renewed.stop).toBe(false);
        }
        expect((await store.meta(sid))?.state).toBe('live');
        await store.append(sid, 'g1', events(1, 1));
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        const got = await reading;
        expect(got.end?.state).toBe('done');
      });

      it('renew reports the readers attached through read', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        expect((await store.renew(sid, 'g1')).readers).toBe(0);
        const a = collect(store.read(sid, 'g1', 0));
        const b = collect(store.read(sid, 'g1', 0));
        await sleep(30);
        expect((await store.renew(sid, 'g1')).readers).toBe(2);
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        await Promise.all([a, b]);
      });
    });

    describe('stop', () => {
      it('a stop request sets the durable flag and notifies the owner once', async () => {
        const { store } = await open();
        const sid = id();
        const heard: string[] = [];
        const off = store.onStop((streamId, gen) => heard.push(`${streamId}/${gen}`));
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        const meta = await store.requestStop(sid);
        expect(meta).toMatchObject({ gen: 'g1', state: 'live' });
        await store.requestStop(sid); // idempotent
        await sleep(50);
        expect(heard).toEqual([`${sid}/g1`]);
        expect((await store.renew(sid, 'g1')).stop).toBe(true);
        off();
      });

      it('a stop of an unknown or finished id is a no-op', async () => {
        const { store } = await open();
        let heard = 0;
        store.onStop(() => heard++);
        expect(await store.requestStop(id())).toBeUndefined();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        await store.finalize(sid, 'g1', { state: 'done', reason: undefined });
        expect(await store.requestStop(sid)).toMatchObject({ state: 'done' });
        await sleep(30);
        expect(heard).toBe(0);
      });

      it('a replace ends the old generation stopped/replaced for its readers and tells its owner', async () => {
        const { store } = await open();
        const sid = id();
        const heard: string[] = [];
        store.onStop((_streamId, gen) => heard.push(gen));
        await store.create(sid, { gen: 'old', ifRunning: 'join' });
        await store.append(sid, 'old', events(1, 2));
        const reading = collect(store.read(sid, 'old', 0));
        await sleep(20);
        await store.create(sid, { gen: 'new', ifRunning: 'replace' });
        const got = await reading;
        expect(got.events.map((e) => e.seq)).toEqual([1, 2]);
        expect(got.end).toEqual({ state: 'stopped', reason: 'replaced' });
        await sleep(30);
        expect(heard).toEqual(['old']);
      });
    });

    describe('across instances', () => {
      it('a second instance reads the log, follows the tail and sends stops to the owner', async () => {
        const under = await open();
        if (under.peer === undefined) return; // one-process stores have no second instance
        const { store } = under;
        const other = await under.peer();
        extra.push(other);
        expect(other.instanceId).not.toBe(store.instanceId);
        const sid = id();
        const heard: string[] = [];
        store.onStop((streamId) => heard.push(streamId));
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        expect(await other.create(sid, { gen: 'g2', ifRunning: 'join' })).toMatchObject({
          role: 'follower',
          meta: { gen: 'g1' },
        });
        await store.append(sid, 'g1', events(1, 3));
        const reading = collect(other.read(sid, 'g1', 1));
        await store.append(sid, 'g1', events(4, 6));
        await other.requestStop(sid);
        const deadline = Date.now() + 3000;
        while (heard.length === 0 && Date.now() < deadline) await sleep(10);
        expect(heard).toEqual([sid]);
        await store.finalize(sid, 'g1', { state: 'stopped', reason: 'stopped' });
        const got = await reading;
        expect(got.events.map((e) => e.seq)).toEqual([2, 3, 4, 5, 6]);
        expect(got.end?.state).toBe('stopped');
      });
    });

    describe('close', () => {
      it('ends open reads with STORE_UNAVAILABLE and refuses later calls', async () => {
        const { store } = await open();
        const sid = id();
        await store.create(sid, { gen: 'g1', ifRunning: 'join' });
        const reading = collect(store.read(sid, 'g1', 0));
        await sleep(20);
        await store.close();
        expectCode((await reading).error, 'STORE_UNAVAILABLE');
        expectCode(await rejection(store.meta(sid)), 'STORE_UNAVAILABLE');
      });
    });
  });
}
