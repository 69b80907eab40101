/**
 * What only the Redis store promises, on real redis-server processes: Redis restarted
 * mid-stream with persistence (the tail reconnects, no gap) and without (readers are told the
 * generation is gone, the producer is fenced), Redis stopped for good (typed errors, no crash,
 * no unhandled rejection), a slow Redis (bounded pending commands), one blocking connection per
 * instance, hash-tagged keys, and a keyspace that returns to its baseline after the TTLs.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { isSseError } from 'ssekit';
import type { ReadBatch, ResumeStore, StoredEvent } from 'ssekit/resume';
import { redisStore } from 'ssekit/redis';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { clients, type TestClient } from './redis-clients.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const events = (from: number, to: number): StoredEvent[] =>
  Array.from({ length: to - from + 1 }, (_, i) => ({ seq: from + i, data: `e${from + i}` }));

/** Reads until the end or an error, collecting seqs. */
async function drain(read: AsyncIterable<ReadBatch>): Promise<{
  seqs: number[];
  end: string | undefined;
  error: unknown;
}> {
  const seqs: number[] = [];
  let end: string | undefined;
  try {
    for await (const batch of read) {
      for (const event of batch.events) seqs.push(event.seq);
      if (batch.end) end = `${batch.end.state}/${batch.end.reason ?? ''}`;
    }
  } catch (error) {
    return { seqs, end, error };
  }
  return { seqs, end, error: undefined };
}

const code = (error: unknown): string | undefined =>
  isSseError(error) ? error.code : error instanceof Error ? error.message : undefined;

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

describeWithRedis('Redis store faults', () => {
  const servers: RedisServer[] = [];
  const opened: TestClient[] = [];
  const stores: ResumeStore[] = [];
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const client of opened.splice(0)) await client.close();
    for (const server of servers.splice(0)) await server.close();
    expect(unhandled).toEqual([]);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  const setup = async (
    clientName: string,
    serverOptions: Parameters<typeof startRedis>[0] = {},
    storeOptions: Partial<Parameters<typeof redisStore>[0]> = {},
  ) => {
    const server = await startRedis(serverOptions);
    servers.push(server);
    const connect = clients[clientName];
    if (connect === undefined) throw new Error(clientName);
    const make = async (): Promise<{ store: ResumeStore; client: TestClient }> => {
      const client = await connect(server.url);
      opened.push(client);
      const store = redisStore({
        leaseMs: 400,
        timeoutMs: 3_000,
        ...storeOptions,
        client: client.connection,
      });
      stores.push(store);
      return { store, client };
    };
    return { server, make };
  };

  for (const name of ['redis v6', 'ioredis v6']) {
    it(`${name}: Redis restarted mid-stream WITH persistence: the follower continues with no gap`, async () => {
      const { server, make } = await setup(name, { persistent: true });
      const producer = await make();
      const follower = await make();
      await producer.store.create('chat', { gen: 'g1', ifRunning: 'join' });
      await producer.store.append('chat', 'g1', events(1, 10));
      const reading = drain(follower.store.read('chat', 'g1', 3));
      await sleep(50);
      await server.restart();
      // The producer keeps going (its lease renewals resume too); appends retry over the drop.
      for (let seq = 11; seq <= 30; seq++) {
        await producer.store.append('chat', 'g1', events(seq, seq));
        if (seq % 5 === 0) await producer.store.renew('chat', 'g1');
      }
      await producer.store.finalize('chat', 'g1', { state: 'done', reason: undefined });
      const got = await reading;
      expect(got.error).toBeUndefined();
      expect(got.seqs).toEqual(Array.from({ length: 27 }, (_, i) => i + 4));
      expect(got.end).toBe('done/');
    });

    it(`${name}: pipelined appends that reach Redis out of order (a retry after a drop) are all stored, in order`, async () => {
      const server = await startRedis();
      servers.push(server);
      const connect = clients[name];
      if (connect === undefined) throw new Error(name);
      const client = await connect(server.url);
      opened.push(client);
      // The first send of the append of seqs 1–5 is held back (as a retry after a dropped
      // connection would be), so the append of 6–10 reaches Redis first and finds a gap.
      let held = false;
      const connection = {
        ...client.connection,
        send: async (args: readonly string[]) => {
          if (
            !held &&
            args[0]?.startsWith('EVAL') === true &&
            args.some((arg) => arg.startsWith('[["e1"]'))
          ) {
            held = true;
            await sleep(100);
          }
          return client.connection.send(args);
        },
      };
      const store = redisStore({ leaseMs: 400, timeoutMs: 3_000, client: connection });
      stores.push(store);
      await store.create('chat', { gen: 'g1', ifRunning: 'join' });
      const first = store.append('chat', 'g1', events(1, 5));
      const second = store.append('chat', 'g1', events(6, 10));
      await Promise.all([first, second]);
      expect(held).toBe(true);
      await store.finalize('chat', 'g1', { state: 'done', reason: undefined });
      const got = await drain(store.read('chat', 'g1', 0));
      expect(got.seqs).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      // A gap with no earlier append in flight is still refused.
      await store.create('other', { gen: 'g2', ifRunning: 'join' });
      await expect(store.append('other', 'g2', events(3, 4))).rejects.toBeInstanceOf(RangeError);
    });

    it(`${name}: Redis restarted mid-stream WITHOUT persistence: readers learn the generation is gone, the producer is fenced`, async () => {
      const { server, make } = await setup(name);
      const producer = await make();
      const follower = await make();
      await producer.store.create('chat', { gen: 'g1', ifRunning: 'join' });
      await producer.store.append('chat', 'g1', events(1, 5));
      const reading = drain(follower.store.read('chat', 'g1', 0));
      await sleep(50);
      await server.restart();
      const got = await reading;
      expect(got.seqs).toEqual([1, 2, 3, 4, 5]);
      expect(code(got.error)).toBe('GENERATION_GONE');
      const failed = await producer.store
        .append('chat', 'g1', events(6, 6))
        .catch((e: unknown) => e);
      expect(code(failed)).toBe('STORE_FENCED');
      expect(await producer.store.meta('chat')).toBeUndefined();
    });

    it(`${name}: Redis stopped for good: typed STORE_UNAVAILABLE errors within timeoutMs, no crash`, async () => {
      const { server, make } = await setup(name, {}, { timeoutMs: 600 });
      const producer = await make();
      const follower = await make();
      await producer.store.create('chat', { gen: 'g1', ifRunning: 'join' });
      await producer.store.append('chat', 'g1', events(1, 2));
      const reading = drain(follower.store.read('chat', 'g1', 0));
      await sleep(50);
      await server.stop();
      const started = Date.now();
      const failed = await producer.store
        .append('chat', 'g1', events(3, 3))
        .catch((e: unknown) => e);
      expect(code(failed)).toBe('STORE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(code(await producer.store.renew('chat', 'g1').catch((e: unknown) => e))).toBe(
        'STORE_UNAVAILABLE',
      );
      const got = await reading;
      expect(got.seqs).toEqual([1, 2]);
      expect(code(got.error)).toBe('STORE_UNAVAILABLE');
      expect(code(await follower.store.meta('chat').catch((e: unknown) => e))).toBe(
        'STORE_UNAVAILABLE',
      );
    });
  }

  it('a slow Redis: pending commands are bounded (maxPending), then time out, both as STORE_UNAVAILABLE', async () => {
    const { make } = await setup('redis v6', {}, { maxPending: 4, timeoutMs: 400 });
    const { store, client } = await make();
    for (let i = 0; i < 8; i++)
      await store.create(`s${String(i)}`, { gen: 'g1', ifRunning: 'join' });
    await client.command(['CLIENT', 'PAUSE', '1500', 'ALL']);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        store.append(`s${String(i)}`, 'g1', events(1, 1)).then(
          () => 'ok',
          (error: unknown) =>
            `${code(error) ?? ''} ${Date.now() - started < 100 ? 'at once' : 'later'}`,
        ),
      ),
    );
    expect(results.filter((r) => r === 'STORE_UNAVAILABLE at once')).toHaveLength(4);
    expect(results.filter((r) => r === 'STORE_UNAVAILABLE later')).toHaveLength(4);
    await sleep(1_200); // the pause ends; the store works again
    await store.append('s0', 'g1', events(1, 1)).catch(() => undefined); // may have landed late
    expect((await store.meta('s0'))?.state).toBe('live');
  });

  it('one blocking connection per store instance serves every followed stream', async () => {
    const { make } = await setup('redis v6');
    const producer = await make();
    const follower = await make();
    const reads: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      await producer.store.create(`s${String(i)}`, { gen: 'g1', ifRunning: 'join' });
      reads.push(drain(follower.store.read(`s${String(i)}`, 'g1', 0)));
    }
    await sleep(100);
    const list = String(await producer.client.command(['CLIENT', 'LIST']));
    const blocked = list.split('\n').filter((line) => /cmd=xread/.test(line));
    expect(blocked).toHaveLength(1);
    for (let i = 0; i < 40; i++) {
      await producer.store.append(`s${String(i)}`, 'g1', events(1, 1));
      await producer.store.finalize(`s${String(i)}`, 'g1', { state: 'done', reason: undefined });
    }
    for (const read of reads) expect(await read).toMatchObject({ seqs: [1], end: 'done/' });
  });

  it('a paused follower on another instance is cut at its bound; the tail loop and the other follower go on', async () => {
    const { make } = await setup('redis v6');
    const producer = await make();
    const follower = await make();
    await producer.store.create('chat', { gen: 'g1', ifRunning: 'join' });
    const paused = follower.store.read('chat', 'g1', 0, { limit: 5 })[Symbol.asyncIterator]();
    const pending = paused.next(); // following; then it stops taking
    const active = drain(follower.store.read('chat', 'g1', 0));
    await sleep(50);
    for (let seq = 1; seq <= 30; seq++) await producer.store.append('chat', 'g1', events(seq, seq));
    await producer.store.finalize('chat', 'g1', { state: 'done', reason: undefined });
    expect(await active).toMatchObject({
      seqs: Array.from({ length: 30 }, (_, i) => i + 1),
      end: 'done/',
    });
    const first = await pending;
    expect(first.done).toBe(false);
    const error = await paused.next().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(code(error)).toBe('READER_OVERFLOW');
  });

  it('a newly followed stream re-arms the blocked XREAD at once (not after BLOCK)', async () => {
    const { make } = await setup('ioredis v6', {}, { blockMs: 5_000, leaseMs: 10_000 });
    const producer = await make();
    const follower = await make();
    await producer.store.create('first', { gen: 'g1', ifRunning: 'join' });
    await producer.store.create('second', { gen: 'g1', ifRunning: 'join' });
    const firstRead = drain(follower.store.read('first', 'g1', 0));
    await sleep(100); // the loop is now blocked on 'first' alone, for up to 5 s
    const second = follower.store.read('second', 'g1', 0)[Symbol.asyncIterator]();
    const next = second.next();
    await sleep(50);
    const appended = Date.now();
    await producer.store.append('second', 'g1', events(1, 1));
    const got: IteratorResult<ReadBatch, unknown> = await next;
    expect(got.done).toBe(false);
    expect((got.value as ReadBatch).events.map((e) => e.seq)).toEqual([1]);
    expect(Date.now() - appended).toBeLessThan(2_500);
    await second.return?.();
    await producer.store.finalize('first', 'g1', { state: 'done', reason: undefined });
    expect(await firstRead).toMatchObject({ end: 'done/' });
  });

  it('lost producers are found for every followed stream, checked in batches (150 streams)', async () => {
    const { make } = await setup('redis v6', {}, { leaseMs: 300 });
    const producer = await make();
    const follower = await make();
    const reads: Promise<Awaited<ReturnType<typeof drain>>>[] = [];
    for (let i = 0; i < 150; i++) {
      await producer.store.create(`s${String(i)}`, { gen: 'g1', ifRunning: 'join' });
      await producer.store.append(`s${String(i)}`, 'g1', events(1, 1));
      reads.push(drain(follower.store.read(`s${String(i)}`, 'g1', 0)));
    }
    // Nobody renews the leases (a dead producer): every follower ends lost, after its event.
    for (const read of reads) {
      expect(await read).toMatchObject({ seqs: [1], end: 'lost/producer_lost', error: undefined });
    }
  });

  it('a log entry that is not a batch of events ends only its own readers, with STORE_UNAVAILABLE', async () => {
    const { make } = await setup('redis v6', {}, { leaseMs: 60_000 });
    const producer = await make();
    const follower = await make();
    await producer.store.create('bad', { gen: 'g1', ifRunning: 'join' });
    await producer.store.create('good', { gen: 'g1', ifRunning: 'join' });
    const bad = drain(follower.store.read('bad', 'g1', 0));
    const good = drain(follower.store.read('good', 'g1', 0));
    await sleep(50);
    const keys = (await producer.client.command(['KEYS', '*:meta:bad'])) as string[];
    const logKey = (keys[0] ?? '').replace(':meta:bad', ':log:bad:g1');
    await producer.client.command(['XADD', logKey, '1-0', 'f', '1', 'b', 'not json']);
    await producer.store.append('good', 'g1', events(1, 2));
    await producer.store.finalize('good', 'g1', { state: 'done', reason: undefined });
    expect(code((await bad).error)).toBe('STORE_UNAVAILABLE');
    expect(await good).toMatchObject({ seqs: [1, 2], end: 'done/' });
  });

  it('a create retried after its reply was lost (same gen, same instance) is the same generation, even with replace', async () => {
    const { make } = await setup('ioredis v6');
    const { store } = await make();
    const first = await store.create('retry', { gen: 'g1', ifRunning: 'replace' });
    await store.append('retry', 'g1', events(1, 2));
    // What the store sends again when a dropped connection lost the first reply.
    const again = await store.create('retry', { gen: 'g1', ifRunning: 'replace' });
    expect(first.role).toBe('producer');
    expect(again).toMatchObject({
      role: 'producer',
      meta: { gen: 'g1', state: 'live', lastSeq: 2 },
    });
    await store.append('retry', 'g1', events(3, 3));
    await store.finalize('retry', 'g1', { state: 'done', reason: undefined });
    expect(await drain(store.read('retry', 'g1', 0))).toMatchObject({
      seqs: [1, 2, 3],
      end: 'done/',
    });
  });

  it('keys carry the hash tag; the keyspace returns to its baseline after the TTLs', async () => {
    const { make } = await setup(
      'ioredis v6',
      {},
      { retention: { afterDoneMs: 200, idleMs: 300 } },
    );
    const producer = await make();
    const follower = await make();
    expect(await producer.client.command(['DBSIZE'])).toBe(0);
    await producer.store.create('done-one', { gen: 'g1', ifRunning: 'join' });
    await producer.store.append('done-one', 'g1', events(1, 3));
    const reading = drain(follower.store.read('done-one', 'g1', 0));
    await producer.store.requestStop('done-one');
    await producer.store.finalize('done-one', 'g1', { state: 'stopped', reason: 'stopped' });
    await producer.store.create('idle-one', { gen: 'g1', ifRunning: 'join' });
    await producer.store.append('idle-one', 'g1', events(1, 1));
    expect(await reading).toMatchObject({ seqs: [1, 2, 3], end: 'stopped/stopped' });
    const keys = (await producer.client.command(['KEYS', '*'])) as string[];
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(/^\{ssekit:\d+\}:(meta|log|lease|stop|readers):/);
    await sleep(1_200);
    expect(await producer.client.command(['DBSIZE'])).toBe(0);
  });
});
