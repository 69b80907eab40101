/**
 * Resumable endpoints (`createResumable` on real node:http servers) on the Redis store while
 * the Redis server itself fails: restarted with persistence (the stream goes on with no gap, on
 * the producing instance and on a follower instance), restarted without persistence (the
 * producer fails with a typed store error, readers are cut, a resume finds nothing: 204), and
 * stopped for good (`event: error` `store_unavailable`, no crash, no unhandled rejection); and a
 * cursor trimmed past retention, resumed on the other instance (a `trimmed` reset).
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { isSseError } from 'ssekit';
import { redisStore } from 'ssekit/redis';
import { createResumable, type ResumeStore } from 'ssekit/resume';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { readEvents, serveResumable, sleep, type TestServer, tokens } from './helpers.js';
import { clients, type TestClient } from './redis-clients.js';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${String(i + 1)}`);

describeWithRedis('resumable endpoints while Redis fails', () => {
  const open: { close(): Promise<void> }[] = [];
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) await item.close();
    expect(unhandled).toEqual([]);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  /** Two instances (each its own client, store, resumable and server) on one Redis. */
  async function twoInstances(
    redis: RedisServer,
    list: string[],
    delay: number,
    maxEvents = 10_000,
  ): Promise<{
    a: TestServer;
    b: TestServer;
    errors: unknown[];
    producer: ReturnType<typeof tokens>;
  }> {
    const errors: unknown[] = [];
    const producer = tokens(list, delay);
    const make = async (): Promise<TestServer> => {
      const client: TestClient = await (
        clients['redis v6'] as (url: string) => Promise<TestClient>
      )(redis.url);
      const store: ResumeStore = redisStore({
        client: client.connection,
        leaseMs: 400,
        timeoutMs: 800,
        retention: { maxEvents },
      });
      const resumable = createResumable({
        store,
        storeTimeoutMs: 1_500,
        onError: (error) => errors.push(error),
      });
      const server = await serveResumable(resumable, () => producer.producer);
      open.push(client, store, resumable, server);
      return server;
    };
    return { a: await make(), b: await make(), errors, producer };
  }

  it('restarted WITH persistence mid-stream: the original client and a follower on B get every event, no gap', async () => {
    const redis = await startRedis({ persistent: true });
    open.push(redis);
    const { a, b, errors } = await twoInstances(redis, words(40), 15);
    const original = readEvents(`${a.url}/s/p1`, { method: 'POST' });
    await sleep(150);
    const follower = readEvents(`${b.url}/s/p1/stream`);
    await sleep(100);
    await redis.restart();
    const [mine, theirs] = await Promise.all([original, follower]);
    const data = (events: { event?: string | undefined; data: string }[]) =>
      events.filter((e) => e.event === undefined).map((e) => e.data);
    expect(data(mine.events)).toEqual(words(40));
    expect(data(theirs.events)).toEqual(words(40));
    expect(mine.events.at(-1)?.event).toBe('done');
    expect(theirs.events.at(-1)?.event).toBe('done');
    expect(errors).toEqual([]);
  });

  it('restarted WITHOUT persistence: the producer fails with a typed store error and is aborted; readers are cut; a resume gets 204', async () => {
    const redis = await startRedis();
    open.push(redis);
    const { a, b, errors, producer } = await twoInstances(redis, words(200), 15);
    const original = readEvents(`${a.url}/s/p2`, { method: 'POST' });
    await sleep(150);
    const follower = readEvents(`${b.url}/s/p2/stream`);
    await sleep(100);
    await redis.restart();
    const [mine, theirs] = await Promise.all([original, follower]);
    for (const got of [mine, theirs]) {
      expect(got.events.length).toBeGreaterThan(0);
      expect(got.events.length).toBeLessThan(200);
      expect(got.events.some((e) => e.event === 'done')).toBe(false); // not a normal end
    }
    await sleep(100);
    expect(producer.aborted()).toBe(true);
    expect(errors.some((e) => isSseError(e) && e.code === 'STORE_FENCED')).toBe(true);
    const resumed = await readEvents(`${b.url}/s/p2/stream`);
    expect(resumed.status).toBe(204);
  });

  it('stopped for good: the client gets event: error store_unavailable, the producer is aborted, nothing crashes', async () => {
    const redis = await startRedis();
    open.push(redis);
    const { a, errors, producer } = await twoInstances(redis, words(500), 10);
    const original = readEvents(`${a.url}/s/p3`, { method: 'POST' });
    await sleep(150);
    await redis.stop();
    const mine = await original;
    const last = mine.events.at(-1);
    expect(last?.event).toBe('error');
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ code: 'store_unavailable' });
    expect(producer.aborted()).toBe(true);
    expect(errors.some((e) => isSseError(e) && e.code === 'STORE_UNAVAILABLE')).toBe(true);
  });

  it('a cursor trimmed past retention, resumed on the other instance: reset header and event, then the retained events', async () => {
    const redis = await startRedis();
    open.push(redis);
    const { a, b } = await twoInstances(redis, words(30), 0, 10);
    const all = await readEvents(`${a.url}/s/t1`, { method: 'POST' });
    const gen = all.headers.get('ssekit-cursor')?.split('.')[0] ?? '';
    const resumed = await readEvents(`${b.url}/s/t1/stream`, { lastEventId: `${gen}.5` });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('ssekit-resume')).toBe('reset');
    expect(resumed.events[0]).toMatchObject({
      event: 'ssekit.reset',
      data: '{"reason":"trimmed"}',
    });
    const data = resumed.events.filter((e) => e.event === undefined);
    expect(data.map((e) => e.data)).toEqual(words(30).slice(20));
    expect(data.map((e) => e.id)).toEqual(
      words(30)
        .slice(20)
        .map((_, i) => `${gen}.${String(21 + i)}`),
    );
  });
});
