/**
 * The demo's resumable chats on every app (Express, Koa, Hono), with real servers and real
 * clients: `POST /api/chats/:id` starts or joins, `GET /api/chats/:id/stream` resumes (204 when
 * there is nothing to resume), `POST /api/chats/:id/stop` stops on whichever app runs it, the
 * `eventsource` package reconnects by itself across an injected drop, and a dead producer ends
 * its followers with `event: error` and a code.
 */
import { once } from 'node:events';
import { EventSource } from 'eventsource';
import { memoryStore } from 'ssekit/resume';
import { afterEach, describe, expect, it } from 'vitest';
import { startDemo } from '../../demo/apps/index.js';
import { answerFor, startEmulator } from '../../demo/emulator.js';
import { createLlm } from '../../demo/llm.js';
import { readEvents } from '../resume/helpers.js';
import { frameworks, postJson, type Stack, startStack } from './helpers.js';
import { startDropProxy } from './resume-helpers.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stackFor(framework: (typeof frameworks)[number], delay = 0): Promise<Stack> {
  const stack = await startStack(framework, delay);
  cleanups.push(() => stack.close());
  return stack;
}

const json = { 'content-type': 'application/json' };
const tokensOf = (events: { event?: string | undefined; data: string }[]): string =>
  events
    .filter((e) => e.event === undefined)
    .map((e) => e.data)
    .join('');

describe.each(frameworks)('resumable chats on %s', (framework) => {
  it('streams each token as a data event with an id; a resume after a drop continues exactly', async () => {
    const stack = await stackFor(framework);
    const prompt = `resume ${framework}`;
    const release = stack.emulator.hold(6);
    const first = await readEvents(`${stack.demo.url}/api/chats/c1`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt }),
      count: 4,
    });
    expect(first.headers.get('ssekit-resume')).toBe('new');
    expect(first.headers.get('ssekit-resume-url')).toBe('/api/chats/c1/stream');
    const gen = first.headers.get('ssekit-cursor')?.split('.')[0] as string;
    expect(first.events.map((e) => e.id)).toEqual([1, 2, 3, 4].map((n) => `${gen}.${n}`));
    release();
    const rest = await readEvents(`${stack.demo.url}/api/chats/c1/stream`, {
      lastEventId: `${gen}.4`,
    });
    expect(rest.headers.get('ssekit-resume')).toBe('continued');
    const ids = rest.events.filter((e) => e.id !== undefined).map((e) => e.id);
    expect(ids[0]).toBe(`${gen}.5`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(rest.events.at(-1)?.event).toBe('done');
    expect(tokensOf(first.events) + tokensOf(rest.events)).toBe(answerFor(prompt));
    // The dropped POST did not stop the generation: it was generated once, to its end.
    expect(stack.emulator.stats).toEqual({ requests: 1, completed: 1, aborted: 0 });
  });

  it('answers 204 when there is nothing to resume', async () => {
    const stack = await stackFor(framework);
    expect((await fetch(`${stack.demo.url}/api/chats/none/stream`)).status).toBe(204);
    const all = await readEvents(`${stack.demo.url}/api/chats/c2`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'short' }),
    });
    const last = all.events.filter((e) => e.id !== undefined).at(-1)?.id as string;
    const read = await fetch(`${stack.demo.url}/api/chats/c2/stream`, {
      headers: { 'last-event-id': last },
    });
    expect(read.status).toBe(204);
  });

  it('a second POST of a running chat joins it: one generation upstream, every event', async () => {
    const stack = await stackFor(framework);
    const release = stack.emulator.hold(3);
    const body = JSON.stringify({ prompt: 'join' });
    const a = readEvents(`${stack.demo.url}/api/chats/c3`, { method: 'POST', headers: json, body });
    await once(stack.emulator.events, 'request');
    const b = readEvents(`${stack.demo.url}/api/chats/c3`, { method: 'POST', headers: json, body });
    setTimeout(release, 100);
    const [first, second] = await Promise.all([a, b]);
    expect(tokensOf(first.events)).toBe(answerFor('join'));
    expect(tokensOf(second.events)).toBe(answerFor('join'));
    expect(stack.emulator.stats.requests).toBe(1);
  });

  it('POST …/stop aborts the generation upstream and ends the stream with done', async () => {
    const stack = await stackFor(framework);
    const release = stack.emulator.hold(3);
    cleanups.push(() => Promise.resolve(release()));
    const reading = readEvents(`${stack.demo.url}/api/chats/c4`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'stop me' }),
    });
    await once(stack.emulator.events, 'request');
    const aborted = once(stack.emulator.events, 'aborted');
    const stop = await postJson(`${stack.demo.url}/api/chats/c4/stop`, {});
    expect(stop.status).toBe(200);
    expect(await stop.json()).toEqual({ stopped: true });
    await aborted;
    const got = await reading;
    expect(got.ended).toBe(true);
    expect(got.events.at(-1)?.event).toBe('done');
    expect(stack.emulator.stats).toMatchObject({ requests: 1, aborted: 1 });
    // Idempotent, and safe for an unknown id.
    expect(await (await postJson(`${stack.demo.url}/api/chats/c4/stop`, {})).json()).toEqual({
      stopped: false,
    });
    expect(await (await postJson(`${stack.demo.url}/api/chats/zz/stop`, {})).json()).toEqual({
      stopped: false,
    });
  });

  it('answers one JSON document for {"stream": false}', async () => {
    const stack = await stackFor(framework);
    const response = await postJson(`${stack.demo.url}/api/chats/c5`, {
      prompt: 'json please',
      stream: false,
    });
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(await response.json()).toEqual({ response: answerFor('json please') });
  });

  it('the eventsource package, reconnecting by itself across an injected drop, gets every event once', async () => {
    const stack = await stackFor(framework, 15);
    const proxy = await startDropProxy(stack.demo.url);
    cleanups.push(() => proxy.close());
    const prompt = `eventsource ${framework}`;
    // Start the chat and leave at once: the generation goes on without its first client.
    await readEvents(`${stack.demo.url}/api/chats/c6`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt }),
      count: 1,
    });
    const source = new EventSource(`${proxy.url}/api/chats/c6/stream`);
    cleanups.push(() => Promise.resolve(source.close()));
    const seen: { id: string; data: string }[] = [];
    let cut = false;
    await new Promise<void>((resolve, reject) => {
      source.onmessage = (event) => {
        seen.push({ id: event.lastEventId, data: event.data as string });
        if (seen.length === 5 && !cut) {
          cut = true;
          proxy.cut(); // the network drops; EventSource reconnects with Last-Event-ID
        }
      };
      source.addEventListener('done', () => {
        source.close();
        resolve();
      });
      setTimeout(() => reject(new Error(`timed out with ${seen.length} events`)), 15_000);
    });
    expect(proxy.connections).toBeGreaterThanOrEqual(2);
    expect(new Set(seen.map((e) => e.id)).size).toBe(seen.length);
    expect(seen.map((e) => e.data).join('')).toBe(answerFor(prompt));
  });
});

describe('resumable chats across apps and producers', () => {
  it('a chat started on Express resumes on Koa and is stopped from Hono (one shared store)', async () => {
    const emulator = await startEmulator({ tokenDelay: 0 });
    cleanups.push(() => emulator.close());
    const llm = createLlm(emulator.baseURL, {});
    const store = memoryStore();
    cleanups.push(() => store.close());
    const apps = await Promise.all(frameworks.map((name) => startDemo[name](llm, 0, store)));
    for (const app of apps) cleanups.push(() => app.close());
    const [express, koa, hono] = apps as [(typeof apps)[0], (typeof apps)[0], (typeof apps)[0]];
    const release = emulator.hold(4);
    cleanups.push(() => Promise.resolve(release()));
    const first = await readEvents(`${express.url}/api/chats/x1`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'across' }),
      count: 2,
    });
    const follower = readEvents(`${koa.url}/api/chats/x1/stream`, {
      lastEventId: first.events.at(-1)?.id,
    });
    const aborted = once(emulator.events, 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await (await postJson(`${hono.url}/api/chats/x1/stop`, {})).json()).toEqual({
      stopped: true,
    });
    await aborted;
    const rest = await follower;
    expect(rest.events.at(-1)?.event).toBe('done');
    const ids = [...first.events, ...rest.events].filter((e) => e.id).map((e) => e.id);
    expect(ids).toEqual([...new Set(ids)]);
    expect(answerFor('across').startsWith(tokensOf(first.events) + tokensOf(rest.events))).toBe(
      true,
    );
  });

  it.each(frameworks)(
    'on %s, a chat whose producer died ends with event: error {"code":"producer_lost"}',
    async (framework) => {
      const emulator = await startEmulator({ tokenDelay: 0 });
      cleanups.push(() => emulator.close());
      const store = memoryStore({ leaseMs: 300 });
      cleanups.push(() => store.close());
      const app = await startDemo[framework](createLlm(emulator.baseURL, {}), 0, store);
      cleanups.push(() => app.close());
      // The generation of a process that died: in the store, its lease never renewed.
      await store.create('dead', { gen: 'deadGen', ifRunning: 'conflict' });
      await store.append('dead', 'deadGen', [
        { seq: 1, data: 'Hel' },
        { seq: 2, data: 'lo' },
      ]);
      const started = Date.now();
      const got = await readEvents(`${app.url}/api/chats/dead/stream`, {
        lastEventId: 'deadGen.1',
      });
      expect(Date.now() - started).toBeLessThan(2 * 300 + 1500);
      expect(got.events.map((e) => [e.event, e.id])).toEqual([
        [undefined, 'deadGen.2'],
        ['error', undefined],
      ]);
      const error = JSON.parse(got.events[1]?.data as string) as { code: string; error: string };
      expect(error.code).toBe('producer_lost');
      expect(typeof error.error).toBe('string');
    },
  );
});
