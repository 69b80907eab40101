/**
 * The production recipe (examples/production.ts, docs/production.md) on Express, Koa, Hono and
 * Fastify: on shutdown, readiness fails and new streams get 503 at once, the open stream ends
 * with a retry: hint and ssekit.drain, its stats say `drain`, and the server closes by itself.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DrainResult } from 'ssekit';
import { describe, expect, it } from 'vitest';
import {
  ANSWER,
  lines,
  shutdown,
  shutdownFastify,
  startExpress,
  startFastify,
  startHono,
  startKoa,
} from '../examples/production.js';
import { EventReader, rawRequest } from './conformance/clients.js';

async function listening(server: Server): Promise<string> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const recipes: [string, () => Promise<[Server, () => Promise<DrainResult>]>][] = [
  ['express', () => Promise.resolve(startExpress()).then((s) => [s, () => shutdown(s)])],
  ['koa', () => Promise.resolve(startKoa()).then((s) => [s, () => shutdown(s)])],
  ['hono', () => Promise.resolve(startHono()).then((s) => [s, () => shutdown(s)])],
  ['fastify', () => startFastify().then((app) => [app.server, () => shutdownFastify(app)])],
];

describe.each(recipes)('the %s recipe', (name, start) => {
  it('drains: readiness 503, new streams 503 + Retry-After, the open one ends with retry: and ssekit.drain, the server closes', async () => {
    const [server, stop] = await start();
    const url = await listening(server);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // The first stream is ended at once; the second's turn would come halfway through the
    // window, but it finishes by itself first.
    const open = new EventReader((await rawRequest(`${url}/chat`)).res);
    const second = new EventReader((await rawRequest(`${url}/chat`)).res);
    await Promise.all([open.waitFor(1), second.waitFor(1)]);
    lines.length = 0;

    const stopped = stop();
    expect((await fetch(`${url}/healthz`)).status).toBe(503);
    const refused = await fetch(`${url}/chat`);
    expect(refused.status, name).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    await refused.text();

    const result = await stopped;
    expect(result).toMatchObject({ streams: 2, ended: 1, finished: 1, cut: 0 });
    await Promise.all([open.ended, second.ended]);
    expect(open.events.at(-1)?.event).toBe('ssekit.drain');
    expect(open.raw).toMatch(/\nretry: \d+\n/);
    expect(second.events.at(-1)?.event).toBe('done');
    expect(
      second.events
        .slice(0, -1)
        .map((e) => e.data)
        .join(''),
    ).toBe(ANSWER);
    expect(server.listening).toBe(false);
    expect(lines.sort()).toEqual([
      expect.stringMatching(/^stream done: 14 events, \d+ B, first token \d+ ms$/),
      expect.stringMatching(/^stream drain: \d+ events, \d+ B, first token \d+ ms$/),
    ]);
  });
});
