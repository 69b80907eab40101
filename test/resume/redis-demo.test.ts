/**
 * The demo with `REDIS_URL` set: its chat store is the Redis store, so two apps (here Express
 * and Hono, each with its own store and Redis client, as two `npm start` processes would have)
 * are two instances of one chat service: a chat started on one resumes on the other, and a stop
 * sent to the other reaches the upstream call (the emulator sees the generation aborted).
 */
import { afterEach, expect, it } from 'vitest';
import { createChatStore } from '../../demo/chats.js';
import { startDemo } from '../../demo/apps/index.js';
import { startEmulator } from '../../demo/emulator.js';
import { createLlm } from '../../demo/llm.js';
import { describeWithRedis, startRedis } from '../helpers/redis-server.js';
import { readEvents } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const post = (prompt: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ prompt }),
});

describeWithRedis('the demo on Redis (REDIS_URL)', () => {
  async function twoApps(tokenDelay: number) {
    const redis = await startRedis();
    cleanups.push(() => redis.close());
    const emulator = await startEmulator({ tokenDelay });
    cleanups.push(() => emulator.close());
    const llm = createLlm(emulator.baseURL, {});
    const stores = [
      await createChatStore({ REDIS_URL: redis.url }),
      await createChatStore({ REDIS_URL: redis.url }),
    ];
    for (const store of stores) cleanups.push(() => store.close());
    const express = await startDemo.express(llm, 0, stores[0]?.store);
    cleanups.push(() => express.close());
    const hono = await startDemo.hono(llm, 0, stores[1]?.store);
    cleanups.push(() => hono.close());
    return { emulator, express, hono, kinds: stores.map((s) => s.kind) };
  }

  it('a chat started on the Express app resumes on the Hono app, from its Last-Event-ID', async () => {
    const { express, hono, kinds } = await twoApps(5);
    expect(kinds).toEqual(['redis', 'redis']);
    const first = await readEvents(`${express.url}/api/chats/r1`, {
      ...post('resume across apps'),
      count: 3,
    });
    expect(first.status).toBe(200);
    const last = first.events.at(-1)?.id;
    expect(last).toMatch(/\.3$/);
    const rest = await readEvents(`${hono.url}/api/chats/r1/stream`, { lastEventId: last });
    expect(rest.status).toBe(200);
    expect(rest.headers.get('ssekit-resume')).toBe('continued');
    const all = await readEvents(`${express.url}/api/chats/r1/stream`);
    const text = (events: { event?: string | undefined; data: string }[]): string =>
      events
        .filter((e) => e.event === undefined)
        .map((e) => e.data)
        .join('');
    expect(text([...first.events, ...rest.events])).toBe(text(all.events));
    expect(text(all.events).length).toBeGreaterThan(0);
  });

  it('a stop sent to the Hono app aborts the upstream call made by the Express app', async () => {
    const { emulator, express, hono } = await twoApps(50);
    const started = await readEvents(`${express.url}/api/chats/s1`, {
      ...post('a long answer to stop'),
      count: 2,
    });
    expect(started.status).toBe(200);
    const aborted = new Promise((resolve) => emulator.events.once('aborted', resolve));
    const stop = await fetch(`${hono.url}/api/chats/s1/stop`, { method: 'POST' });
    expect(stop.status).toBeLessThan(300);
    await aborted;
    expect(emulator.log.at(-1)?.status).toBe('aborted');
  });
});
