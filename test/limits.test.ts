/**
 * Stream limits (issue 12, item 2): concurrent streams overall and per key, refused with 429 and
 * Retry-After before any stream byte, through every adapter's `sse()` alike; and the lifetime and
 * idle ends a client can see.
 */
import { createServer } from 'node:http';
import { EventSource } from 'eventsource';
import {
  createLimiter,
  isSseError,
  type SseOptions,
  type SseWriter,
  type StreamLimiter,
  toSseResponse,
  toSseStream,
} from 'ssekit';
import { Hono } from 'hono';
import { sse as honoSse } from 'ssekit/hono';
import type { Request } from 'express';
import type { Context } from 'koa';
import { sse as expressSse } from 'ssekit/express';
import { sse as koaSse } from 'ssekit/koa';
import { sse } from 'ssekit/node';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { deferred, EventReader, rawRequest, until } from './conformance/clients.js';
import { type Running, targets } from './conformance/targets.js';
import { aborted, allEvents, serve } from './integrations/helpers.js';

/** The `x-user` header of a request, whatever the framework hands the key function. */
function userOf(request: unknown): string | undefined {
  const r = request as {
    headers?: Record<string, string | string[] | undefined>;
    req?: { header?: (name: string) => string | undefined };
  };
  if (typeof r.req?.header === 'function') return r.req.header('x-user'); // Hono's context
  const value = r.headers?.['x-user']; // Express, Koa's context, node:http
  return Array.isArray(value) ? value[0] : value;
}

describe('createLimiter', () => {
  it('refuses the N+1th stream of a key and leaves other keys alone', () => {
    const limiter = createLimiter<string>({ perKey: 2, key: (user) => user });
    const a1 = limiter.acquire('a');
    const a2 = limiter.acquire('a');
    expect(a1).toBeTypeOf('function');
    expect(a2).toBeTypeOf('function');
    expect(limiter.acquire('a')).toBeUndefined();
    expect(limiter.acquire('b')).toBeTypeOf('function');
    expect(limiter.count('a')).toBe(2);
    expect(limiter.active).toBe(3);
    a1?.();
    a1?.(); // a second release gives nothing back twice
    expect(limiter.count('a')).toBe(1);
    expect(limiter.acquire('a')).toBeTypeOf('function');
    expect(limiter.acquire('a')).toBeUndefined();
  });

  it('caps the total across keys, and a request without a key counts under max only', () => {
    const limiter = createLimiter<string | undefined>({ max: 2, perKey: 1, key: (user) => user });
    expect(limiter.acquire(undefined)).toBeTypeOf('function');
    expect(limiter.acquire(undefined)).toBeTypeOf('function');
    expect(limiter.acquire('a')).toBeUndefined();
  });

  it.each([
    [{ max: -1 }, 'max'],
    [{ max: 1.5 }, 'max'],
    [{ perKey: 2 }, 'key'],
    [{ perKey: 'x' as unknown as number, key: (): string => 'k' }, 'perKey'],
    [{ key: 'ip' as unknown as () => string }, 'key'],
    [{ retryAfter: -1 }, 'retryAfter'],
  ])('names the bad option %o', (options, field) => {
    let error: unknown;
    try {
      createLimiter(options);
    } catch (caught) {
      error = caught;
    }
    expect(isSseError(error) && error.code === 'INVALID_OPTION' && error.field).toBe(field);
  });

  it("types the key function by the adapter's request", () => {
    const byIp = createLimiter({ perKey: 5, key: (req: Request) => req.ip });
    expectTypeOf(byIp).toEqualTypeOf<StreamLimiter<Request>>();
    expressSse(() => {}, { limiter: byIp });
    // @ts-expect-error: an Express request limiter on a Koa endpoint
    koaSse(() => {}, { limiter: byIp });
    koaSse(() => {}, { limiter: createLimiter({ perKey: 5, key: (ctx: Context) => ctx.ip }) });
  });

  it('refuses a limiter option that is not a limiter, naming it', () => {
    expect(() => sse(() => {}, { limiter: {} as never })).toThrow(/`limiter`/);
  });
});

describe.each(targets)('limits on $name', (target) => {
  const running: Running[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  async function start(options: SseOptions<unknown, unknown>, produce: (w: SseWriter) => unknown) {
    const app = await target.start([
      { method: 'get', path: '/s', produce: (writer) => produce(writer) as undefined, options },
    ]);
    running.push(app);
    return app;
  }

  it('answers the N+1th stream of a key 429 with Retry-After before any stream byte; other keys stream', async () => {
    const limiter = createLimiter({ perKey: 2, key: userOf, retryAfter: 7 });
    const hold = deferred();
    const app = await start({ limiter }, async (writer) => {
      await writer.send('open');
      await hold.promise;
    });
    const open = async (user: string) => {
      const { req, res } = await rawRequest(`${app.url}/s`, { headers: { 'x-user': user } });
      return { req, res, reader: new EventReader(res) };
    };
    const a1 = await open('a');
    const a2 = await open('a');
    await a1.reader.waitFor(1);
    await a2.reader.waitFor(1);
    const refused = await open('a');
    expect(refused.res.statusCode).toBe(429);
    expect(refused.res.headers['retry-after']).toBe('7');
    expect(refused.res.headers['content-type']).not.toBe('text/event-stream');
    await refused.reader.ended;
    expect(refused.reader.events).toEqual([]);

    const b = await open('b');
    expect(b.res.statusCode).toBe(200);
    expect((await b.reader.waitFor(1))[0]?.data).toBe('open');
    expect(limiter.count('a')).toBe(2);

    // A stream that ends gives its slot back.
    a1.req.destroy();
    await until(() => limiter.count('a') === 1, 'the slot to come back');
    const again = await open('a');
    expect(again.res.statusCode).toBe(200);
    hold.resolve();
    await Promise.all([a2.reader.ended, b.reader.ended, again.reader.ended]);
    await until(() => limiter.active === 0, 'every slot to come back');
  });

  it('ends a stream at maxLifetime with an ssekit.limit event the client sees, and aborts the producer', async () => {
    const reason = deferred<unknown>();
    const app = await start({ maxLifetime: 150 }, async (writer) => {
      await writer.send('first');
      reason.resolve(await aborted(writer.signal));
    });
    const { res } = await rawRequest(`${app.url}/s`);
    const reader = new EventReader(res);
    await reader.ended;
    expect(reader.events.map((e) => [e.event, e.data])).toEqual([
      [undefined, 'first'],
      ['ssekit.limit', '{"reason":"max_lifetime"}'],
    ]);
    const cause = await reason.promise;
    expect(isSseError(cause) && cause.code).toBe('STREAM_LIMIT');
  });

  it('ends a stream idle for maxIdle (heartbeats do not count) with reason max_idle', async () => {
    const app = await start({ maxIdle: 300, heartbeat: 40 }, async (writer) => {
      await writer.send('a');
      await new Promise((resolve) => setTimeout(resolve, 100));
      await writer.send('b'); // activity restarts the idle clock
      await aborted(writer.signal);
    });
    const { res } = await rawRequest(`${app.url}/s`);
    const reader = new EventReader(res);
    await reader.ended;
    expect(reader.events.map((e) => [e.event, e.data])).toEqual([
      [undefined, 'a'],
      [undefined, 'b'],
      ['ssekit.limit', '{"reason":"max_idle"}'],
    ]);
    expect(reader.comments.length).toBeGreaterThan(2); // heartbeats went out while idle
  });
});

describe('limits on the web transport', () => {
  it('answers 429 on Hono without a Node server, and gives the slot back when the stream ends', async () => {
    const limiter = createLimiter({ max: 1, retryAfter: 4 });
    const release = deferred();
    const app = new Hono();
    app.get(
      '/s',
      honoSse(
        async (writer) => {
          await writer.send('one');
          await release.promise;
        },
        { limiter },
      ),
    );
    const first = await app.request('/s');
    expect(first.status).toBe(200);
    const refused = await app.request('/s');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('4');
    expect(await refused.text()).toBe('Too Many Requests');
    release.resolve();
    expect(await first.text()).toBe('data: one\n\n');
    await until(() => limiter.active === 0, 'the slot to come back');
    expect((await app.request('/s')).status).toBe(200);
  });

  it('ends a toSseStream stream at maxLifetime; an EventSource client sees the event', async () => {
    const url = await serve(
      createServer((req, res) => {
        const body = toSseStream(
          async (writer) => {
            await writer.send('hello');
            await aborted(writer.signal);
          },
          { maxLifetime: 100, done: { event: 'done', data: '' } },
        );
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        void body.pipeTo(
          new WritableStream({
            write: (chunk) => void res.write(chunk),
            close: () => void res.end(),
          }),
        );
      }),
    );
    const source = new EventSource(url);
    const seen: string[] = [];
    const limit = new Promise<string>((resolve) => {
      source.addEventListener('ssekit.limit', (event) => resolve(String(event.data)));
    });
    source.onmessage = (event) => seen.push(String(event.data));
    expect(await limit).toBe('{"reason":"max_lifetime"}');
    source.close();
    expect(seen).toEqual(['hello']);
  });

  it('sends no limit frame in a format without fields: the stream just ends', async () => {
    const response = await toSseResponse(
      async (writer) => {
        await writer.send('x');
        await aborted(writer.signal);
      },
      { format: 'ndjson', maxLifetime: 50 },
    );
    expect(await response.text()).toBe('"x"\n');
  });

  it('names a bad maxLifetime or maxIdle', () => {
    expect(() => toSseStream([], { maxLifetime: 0 })).toThrow(/`maxLifetime`/);
    expect(() => toSseStream([], { maxIdle: -5 })).toThrow(/`maxIdle`/);
    expect(() => toSseStream([], { maxIdle: 2 ** 31 })).toThrow(/`maxIdle`/);
  });

  it('ends a toSseResponse stream at maxLifetime, read with fetch', async () => {
    const response = await toSseResponse(
      async (writer) => {
        await writer.send('x');
        await aborted(writer.signal);
      },
      { maxLifetime: 50 },
    );
    const events = await allEvents(response);
    expect(events.map((e) => e.event)).toEqual([undefined, 'ssekit.limit']);
  });
});
