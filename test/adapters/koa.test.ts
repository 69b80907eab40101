/**
 * ssekit/koa against Koa 2 and 3 as users mount it (issue 8, item 5): headers set after
 * `await next()`, client resets that must not be logged, and real errors that must still be.
 */
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Koa2 from 'koa2';
import { sse } from 'ssekit/koa';
import { afterEach, describe, expect, it, vi } from 'vitest';

const servers: Server[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function listen(app: Koa): Promise<string> {
  const server = createServer(app.callback());
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Sends a GET on a raw socket and resets the connection (TCP RST) at `when`. */
function resetDuring(url: string, when: 'at once' | 'on the first bytes'): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `GET /stream HTTP/1.1\r\nHost: ${hostname}\r\nAccept: text/event-stream\r\n\r\n`,
      );
      if (when === 'at once') socket.resetAndDestroy();
    });
    if (when === 'on the first bytes') socket.once('data', () => socket.resetAndDestroy());
    socket.once('close', () => resolve());
    socket.on('error', () => {}); // the client's own side of the reset
  });
}

describe.each([
  ['koa 2', Koa2],
  ['koa 3', Koa],
] as const)('%s', (_name, Framework) => {
  it('keeps headers set after `await next()` on an sse() route, as on a plain body route', async () => {
    const app = new Framework();
    app.use(async (ctx, next) => {
      const started = Date.now();
      await next();
      // What koa-response-time and security-header middleware do.
      ctx.set('x-response-time', `${Date.now() - started}ms`);
      ctx.set('x-content-type-options', 'nosniff');
    });
    app.use(async (ctx, next) => {
      if (ctx.path === '/plain') ctx.body = 'plain';
      else await next();
    });
    app.use(sse((writer) => void writer.send('hi')));
    const url = await listen(app);
    for (const path of ['/plain', '/stream']) {
      const res = await fetch(`${url}${path}`);
      expect(res.headers.get('x-response-time'), path).toMatch(/^\d+ms$/);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      await res.text();
    }
  });

  it('never logs a client that resets the connection while the first frames are in flight', async () => {
    const app = new Framework(); // no 'error' listener: Koa's default logs every error's stack
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    let aborted = 0;
    app.use(
      sse(async (writer) => {
        writer.signal.addEventListener('abort', () => aborted++);
        for (let i = 0; i < 200 && !writer.closed; i++) await writer.send(`frame ${i}`);
        await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
      }),
    );
    const url = await listen(app);
    for (let i = 0; i < 10; i++) {
      await resetDuring(url, 'at once');
      await resetDuring(url, 'on the first bytes');
    }
    await vi.waitFor(() => expect(aborted).toBeGreaterThanOrEqual(10));
    // A reset is reported on the socket after the response closed; give it a turn to arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(logged.mock.calls).toEqual([]);
  });

  it('still hands real errors to app.on("error"), before the first frame and after next()', async () => {
    const app = new Framework();
    const errors: unknown[] = [];
    app.on('error', (error: unknown) => errors.push(error));
    app.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/after') throw new Error('upstream failed after next()');
    });
    let aborted = false;
    app.use(
      sse(async (writer, ctx) => {
        if (ctx.path === '/before') throw new Error('handler failed');
        writer.signal.addEventListener('abort', () => (aborted = true));
        await writer.send('never sent');
      }),
    );
    const url = await listen(app);
    const before = await fetch(`${url}/before`);
    expect(before.status).toBe(500);
    await before.text();
    // The stream has not committed when the upstream middleware throws: Koa's error answer wins,
    // and the producer is aborted.
    const after = await fetch(`${url}/after`);
    expect(after.status).toBe(500);
    expect(after.headers.get('content-type')).not.toBe('text/event-stream');
    expect(await after.text()).not.toContain('never sent');
    await vi.waitFor(() => expect(aborted).toBe(true));
    expect(errors).toMatchObject([
      { message: 'handler failed' },
      { message: 'upstream failed after next()' },
    ]);
  });
});
