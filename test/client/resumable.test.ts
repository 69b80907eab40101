/**
 * `ssekit/client` against the real resumable routes (`createResumable` from `ssekit/resume`, the
 * demo's `POST /api/chats/:id`, `GET /api/chats/:id/stream`, `POST /api/chats/:id/stop`) on
 * Express, Koa and Hono, in front of the offline emulator: a cut (a server-side socket destroy,
 * a proxy that drops the connection) resumes with every event exactly once and the prompt run
 * once (the emulator counts its requests), `204` stops, a refused cursor yields the reset.
 */
import type { Socket } from 'node:net';
import { type ClientEvent, connect, type ReconnectInfo } from 'ssekit/client';
import { afterEach, describe, expect, it } from 'vitest';
import { answerFor, tokenize } from '../../demo/emulator.js';
import { frameworks, type Stack, startStack } from '../demo/helpers.js';
import { type Proxy, startProxy } from './chat-server.js';

let stack: Stack | undefined;
let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await stack?.close();
  stack = proxy = undefined;
});

const text = (events: ClientEvent[]): string =>
  events.map((e) => (e.event === 'message' ? e.data : '')).join('');

/** Tracks the demo server's sockets, so a test can destroy them from the server side. */
function sockets(s: Stack): Set<Socket> {
  const open = new Set<Socket>();
  s.demo.server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
  });
  return open;
}

describe.each(frameworks)('ssekit/client on the resumable chats of %s', (framework) => {
  it('resumes after a server-side socket destroy: every event once, the prompt run once', async () => {
    stack = await startStack(framework);
    const open = sockets(stack);
    const prompt = `destroy ${framework}`;
    const release = stack.emulator.hold(5);
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(`${stack.demo.url}/api/chats/d1`, {
      json: { prompt },
      resume: { delay: 10 },
      onReconnect: (info) => reconnects.push(info),
    });
    const events: ClientEvent[] = [];
    for await (const event of stream) {
      events.push(event);
      if (events.length === 5) {
        for (const socket of open) socket.destroy();
        release();
      }
    }
    expect(text(events)).toBe(answerFor(prompt));
    const ids = events.map((e) => e.id);
    const gen = ids[0]?.split('.')[0];
    expect(ids).toEqual(tokenize(answerFor(prompt)).map((_, i) => `${gen}.${i + 1}`));
    expect(stack.emulator.stats.requests).toBe(1);
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]).toMatchObject({
      url: `${stack.demo.url}/api/chats/d1/stream`,
      lastEventId: `${gen}.5`,
    });
    // The demo sends `retry: 1000`: the client waited at least that long.
    expect(reconnects[0]?.delay).toBeGreaterThanOrEqual(1000);
    expect(stream.outcome).toBe('done');
  });

  it('resumes when a proxy drops the connection mid-stream', async () => {
    stack = await startStack(framework, 2);
    proxy = await startProxy(stack.demo.url);
    const prompt = `proxy ${framework}`;
    const events: ClientEvent[] = [];
    const stream = connect(`${proxy.url}/api/chats/p1`, {
      json: { prompt },
      resume: { delay: 10 },
    });
    for await (const event of stream) {
      events.push(event);
      if (events.length === 7) proxy.drop();
    }
    expect(text(events)).toBe(answerFor(prompt));
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(stack.emulator.stats.requests).toBe(1);
    expect(stream.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('stops on 204 for a chat that does not exist, and for one read to its end', async () => {
    stack = await startStack(framework);
    const none = connect(`${stack.demo.url}/api/chats/nope/stream`);
    for await (const event of none) expect.unreachable(`no event, got ${event.event}`);
    expect(none.outcome).toBe('no-content');

    const first = connect(`${stack.demo.url}/api/chats/e1`, { json: { prompt: 'end' } });
    for await (const event of first) void event;
    const again = connect(`${stack.demo.url}/api/chats/e1/stream`, {
      lastEventId: first.lastEventId,
    });
    for await (const event of again) expect.unreachable(`no event, got ${event.event}`);
    expect(again.outcome).toBe('no-content');
  });

  it('yields ssekit.reset for a cursor of another generation, then the replay', async () => {
    stack = await startStack(framework);
    const prompt = `reset ${framework}`;
    const first = connect(`${stack.demo.url}/api/chats/r1`, { json: { prompt } });
    for await (const event of first) void event;
    const stream = connect(`${stack.demo.url}/api/chats/r1/stream`, {
      lastEventId: 'othergen.3',
    });
    const events: ClientEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events[0]?.event).toBe('ssekit.reset');
    expect(stream.resetReason).toBeTypeOf('string');
    expect(stream.response?.headers.get('ssekit-resume')).toBe('reset');
    expect(text(events.slice(1))).toBe(answerFor(prompt));
    expect(stack.emulator.stats.requests).toBe(1);
  });
});
