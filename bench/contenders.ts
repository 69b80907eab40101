/**
 * The contenders: one HTTP server per library, each serving the routes described in
 * `shared.ts` the way that library is meant to be used. The ssekit contenders share one set of
 * producers, so they differ only in the transport.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { SseWriter, StreamOptions } from '../src/index.js';
import {
  aborted,
  FRAME,
  HEADERS,
  monotonicMs,
  param,
  type ServerConfig,
  type ServerStats,
  SLOW_DATA,
  SLOW_FRAME,
  sleep,
  soakData,
  TOKEN,
} from './shared.js';

/** One contender: how to build its server (not yet listening). */
export interface Contender {
  /** The name used on the command line and in tables. */
  readonly name: string;
  /** The baseline every ratio is taken against. */
  readonly baseline?: boolean;
  /** Whether this contender can run here (its adapter may not exist yet). */
  available(): boolean;
  /** Whether it serves `/idle` only (the naive per-framework streams of the idle comparison). */
  readonly idleOnly?: boolean;
  create(config: ServerConfig, stats: ServerStats): Promise<Server>;
}

type Route = 'burst' | 'idle' | 'slow' | 'delay' | 'open' | 'source' | 'soak';

function route(url: string | undefined): Route | undefined {
  const path = (url ?? '/').split('?', 1)[0];
  return path === '/burst' ||
    path === '/idle' ||
    path === '/slow' ||
    path === '/delay' ||
    path === '/open' ||
    path === '/source' ||
    path === '/soak'
    ? (path.slice(1) as Route)
    : undefined;
}

// ---------------------------------------------------------------- ssekit: shared producers

/** The ssekit producers, one per route, written as a user would write them. */
function ssekitProducers(stats: ServerStats) {
  return {
    async burst(writer: SseWriter, url: string): Promise<void> {
      const n = param(url, 'n', 1);
      for (let i = 0; i < n; i++) await writer.send(TOKEN);
    },
    async idle(writer: SseWriter): Promise<void> {
      await writer.send(TOKEN);
      await aborted(writer.signal);
    },
    async slow(writer: SseWriter, url: string): Promise<void> {
      const bytes = param(url, 'bytes', 0);
      for (let sent = 0; sent < bytes && !writer.closed; sent += SLOW_DATA.length) {
        stats.offered += SLOW_DATA.length;
        await writer.send(SLOW_DATA);
      }
    },
    async delay(writer: SseWriter, url: string): Promise<void> {
      await sleep(param(url, 'ms', 0));
      await writer.send(TOKEN);
    },
    /** `/soak`: `n` events, one every `every` ms on a drift-free schedule, then the end. */
    async soak(writer: SseWriter, url: string): Promise<void> {
      const n = param(url, 'n', 1);
      const every = param(url, 'every', 1000);
      const t0 = param(url, 't0', 0);
      const start = monotonicMs();
      for (let seq = 1; seq <= n && !writer.closed; seq++) {
        const wait = start + (seq - 1) * every - monotonicMs();
        if (wait > 0) await sleep(wait);
        if (writer.closed) return;
        await writer.send(soakData(seq, t0));
        stats.sent++;
      }
    },
    /** `/delay` as an SDK stream is used: the handler returns a source that awaits its first token. */
    source(url: string): AsyncIterable<string> {
      return (async function* () {
        await sleep(param(url, 'ms', 0));
        yield TOKEN;
      })();
    },
  };
}

/** The options of each route: defaults everywhere, heartbeats at the configured pace on `/idle`. */
function ssekitOptions(config: ServerConfig): Record<Route, StreamOptions> {
  return {
    burst: {},
    idle: { heartbeat: config.heartbeat },
    slow: {},
    delay: {},
    // `/open` is `/delay` with an opening comment, which commits the headers before the producer runs.
    open: { open: true },
    source: {},
    soak: { heartbeat: config.heartbeat },
  };
}

const adapterPath = (name: string): string =>
  fileURLToPath(new URL(`../adapters/${name}.ts`, import.meta.url));

// ---------------------------------------------------------------- helpers for hand-written servers

/** Resolves on `drain`, or on `close` so a producer never waits for a client that left. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function notFound(res: ServerResponse): void {
  res.writeHead(404).end();
}

// ---------------------------------------------------------------- the contenders

/** Plain node:http writing pre-built frames and awaiting `drain`: the baseline. */
const baseline: Contender = {
  name: 'node:http baseline',
  baseline: true,
  available: () => true,
  create(config, stats) {
    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const url = req.url ?? '/';
      const which = route(url);
      if (which === undefined) return notFound(res);
      res.writeHead(200, HEADERS);
      res.flushHeaders();
      switch (which) {
        case 'burst': {
          const n = param(url, 'n', 1);
          for (let i = 0; i < n; i++) {
            if (!res.write(FRAME)) {
              await drained(res);
              if (res.destroyed) return;
            }
          }
          break;
        }
        case 'idle': {
          res.write(FRAME);
          const timer = setInterval(() => res.write(':\n\n'), config.heartbeat);
          res.once('close', () => clearInterval(timer));
          return;
        }
        case 'slow': {
          const bytes = param(url, 'bytes', 0);
          for (let sent = 0; sent < bytes; sent += SLOW_DATA.length) {
            stats.offered += SLOW_DATA.length;
            if (!res.write(SLOW_FRAME)) {
              await drained(res);
              if (res.destroyed) return;
            }
          }
          break;
        }
        case 'delay':
        case 'open':
        case 'source':
          await sleep(param(url, 'ms', 0));
          res.write(FRAME);
          break;
        case 'soak': {
          const n = param(url, 'n', 1);
          const every = param(url, 'every', 1000);
          const t0 = param(url, 't0', 0);
          const start = monotonicMs();
          const timer = setInterval(() => res.write(':\n\n'), config.heartbeat);
          res.once('close', () => clearInterval(timer));
          for (let seq = 1; seq <= n; seq++) {
            const wait = start + (seq - 1) * every - monotonicMs();
            if (wait > 0) await sleep(wait);
            if (res.destroyed) return;
            stats.sent++;
            if (!res.write(`data: ${soakData(seq, t0)}\n\n`)) await drained(res);
          }
          clearInterval(timer);
          break;
        }
      }
      res.end();
    }
    return Promise.resolve(createServer((req, res) => void handle(req, res)));
  },
};

/**
 * The hand-tuned limit (issue 12): plain node:http with pre-built frames, where every frame made in
 * one tick is joined into one `res.write`, flushed on `setImmediate` or at 64 KiB, honouring
 * `drain`. What a careful engineer writes by hand for one endpoint; the bar for ssekit's own cost.
 */
const RESOLVED = Promise.resolve();

const handTuned: Contender = {
  name: 'node:http hand-tuned',
  available: () => true,
  create(config, stats) {
    const LIMIT = 64 * 1024;
    function writer(res: ServerResponse) {
      let pending = '';
      let scheduled = false;
      const flush = (): boolean => {
        scheduled = false;
        if (pending === '') return true;
        const chunk = pending;
        pending = '';
        return res.write(chunk);
      };
      /** Adds a frame; the promise resolves at once unless the response is full. */
      return (frame: string): Promise<void> => {
        pending += frame;
        if (pending.length >= LIMIT) return flush() ? RESOLVED : drained(res);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
        return RESOLVED;
      };
    }
    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const url = req.url ?? '/';
      const which = route(url);
      if (which === undefined) return notFound(res);
      res.writeHead(200, HEADERS);
      res.flushHeaders();
      const write = writer(res);
      const end = (): void => {
        setImmediate(() => res.end());
      };
      switch (which) {
        case 'burst': {
          const n = param(url, 'n', 1);
          // The producer awaits each write, as every producer (an SDK stream, a push handler)
          // awaits its next token: the same shape as the ssekit contenders' producers.
          for (let i = 0; i < n && !res.destroyed; i++) await write(FRAME);
          break;
        }
        case 'idle': {
          void write(FRAME);
          const timer = setInterval(() => void write(':\n\n'), config.heartbeat);
          res.once('close', () => clearInterval(timer));
          return;
        }
        case 'slow': {
          const bytes = param(url, 'bytes', 0);
          for (let sent = 0; sent < bytes; sent += SLOW_DATA.length) {
            stats.offered += SLOW_DATA.length;
            await write(SLOW_FRAME);
            if (res.destroyed) return;
          }
          break;
        }
        case 'delay':
        case 'open':
        case 'source':
          await sleep(param(url, 'ms', 0));
          await write(FRAME);
          break;
      }
      end();
    }
    return Promise.resolve(createServer((req, res) => void handle(req, res)));
  },
};

/** `ssekit/node`: the `sse()` request listener on a plain node:http server. */
const ssekitNode: Contender = {
  name: 'ssekit/node',
  available: () => true,
  async create(config, stats) {
    const { sse } = await import('../src/node.js');
    const producers = ssekitProducers(stats);
    const options = ssekitOptions(config);
    const listeners = {
      burst: sse((writer, req) => producers.burst(writer, req.url ?? '/'), options.burst),
      idle: sse((writer) => producers.idle(writer), options.idle),
      slow: sse((writer, req) => producers.slow(writer, req.url ?? '/'), options.slow),
      delay: sse((writer, req) => producers.delay(writer, req.url ?? '/'), options.delay),
      open: sse((writer, req) => producers.delay(writer, req.url ?? '/'), options.open),
      source: sse((_writer, req) => producers.source(req.url ?? '/'), options.source),
      soak: sse((writer, req) => producers.soak(writer, req.url ?? '/'), options.soak),
    };
    return createServer((req, res) => {
      const which = route(req.url);
      if (which === undefined) notFound(res);
      else listeners[which](req, res);
    });
  },
};

/** The Express adapter (`ssekit/express`) on Express 5. */
const ssekitExpress: Contender = {
  name: 'ssekit/express',
  available: () => existsSync(adapterPath('express')),
  async create(config, stats) {
    const { default: express } = await import('express');
    const { sse } = await import('../adapters/express.js');
    const producers = ssekitProducers(stats);
    const options = ssekitOptions(config);
    const app = express();
    app.get(
      '/burst',
      sse((writer, req) => producers.burst(writer, req.url), options.burst),
    );
    app.get(
      '/idle',
      sse((writer) => producers.idle(writer), options.idle),
    );
    app.get(
      '/slow',
      sse((writer, req) => producers.slow(writer, req.url), options.slow),
    );
    app.get(
      '/delay',
      sse((writer, req) => producers.delay(writer, req.url), options.delay),
    );
    app.get(
      '/open',
      sse((writer, req) => producers.delay(writer, req.url), options.open),
    );
    app.get(
      '/source',
      sse((_writer, req) => producers.source(req.url), options.source),
    );
    app.get(
      '/soak',
      sse((writer, req) => producers.soak(writer, req.url), options.soak),
    );
    return createServer(app);
  },
};

/** The Koa adapter (`ssekit/koa`) on Koa 3. */
const ssekitKoa: Contender = {
  name: 'ssekit/koa',
  available: () => existsSync(adapterPath('koa')),
  async create(config, stats) {
    const { default: Koa } = await import('koa');
    const { sse } = await import('../adapters/koa.js');
    const producers = ssekitProducers(stats);
    const options = ssekitOptions(config);
    const routes = {
      burst: sse((writer, ctx) => producers.burst(writer, ctx.url), options.burst),
      idle: sse((writer) => producers.idle(writer), options.idle),
      slow: sse((writer, ctx) => producers.slow(writer, ctx.url), options.slow),
      delay: sse((writer, ctx) => producers.delay(writer, ctx.url), options.delay),
      open: sse((writer, ctx) => producers.delay(writer, ctx.url), options.open),
      source: sse((_writer, ctx) => producers.source(ctx.url), options.source),
      soak: sse((writer, ctx) => producers.soak(writer, ctx.url), options.soak),
    };
    const app = new Koa();
    // Koa logs every socket error (a client that resets) with its stack unless the app has an
    // 'error' listener, as deployed apps do: without one, closing 10,000 idle streams prints
    // 10,000 stack traces and the log is what gets measured.
    app.on('error', () => {});
    app.use((ctx, next) => {
      const which = route(ctx.url);
      return which === undefined ? next() : routes[which](ctx);
    });
    return createServer(app.callback());
  },
};

/** The Hono adapter (`ssekit/hono`) on @hono/node-server. */
const ssekitHono: Contender = {
  name: 'ssekit/hono',
  available: () => existsSync(adapterPath('hono')),
  async create(config, stats) {
    const { Hono } = await import('hono');
    const { createAdaptorServer } = await import('@hono/node-server');
    const { sse } = await import('../adapters/hono.js');
    const producers = ssekitProducers(stats);
    const options = ssekitOptions(config);
    const app = new Hono();
    app.get(
      '/burst',
      sse((writer, c) => producers.burst(writer, c.req.url), options.burst),
    );
    app.get(
      '/idle',
      sse((writer) => producers.idle(writer), options.idle),
    );
    app.get(
      '/slow',
      sse((writer, c) => producers.slow(writer, c.req.url), options.slow),
    );
    app.get(
      '/delay',
      sse((writer, c) => producers.delay(writer, c.req.url), options.delay),
    );
    app.get(
      '/open',
      sse((writer, c) => producers.delay(writer, c.req.url), options.open),
    );
    app.get(
      '/source',
      sse((_writer, c) => producers.source(c.req.url), options.source),
    );
    app.get(
      '/soak',
      sse((writer, c) => producers.soak(writer, c.req.url), options.soak),
    );
    return createAdaptorServer({ fetch: app.fetch }) as Server;
  },
};

/** better-sse sessions on node:http, used as its README shows (`push` has no backpressure). */
const betterSse: Contender = {
  name: 'better-sse',
  available: () => true,
  async create(config, stats) {
    const { createSession } = await import('better-sse');
    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const url = req.url ?? '/';
      const which = route(url);
      if (which === undefined) return notFound(res);
      // better-sse 0.16's keep-alive timer can fire after `res.end()` (write after end): without a
      // listener that 'error' would crash the server mid-run.
      res.on('error', () => {});
      const session = await createSession(
        req,
        res,
        which === 'idle' ? { keepAlive: config.heartbeat } : {},
      );
      switch (which) {
        case 'burst': {
          const n = param(url, 'n', 1);
          for (let i = 0; i < n; i++) session.push(TOKEN);
          break;
        }
        case 'idle':
          session.push(TOKEN);
          return;
        case 'slow': {
          const bytes = param(url, 'bytes', 0);
          for (let sent = 0; sent < bytes; sent += SLOW_DATA.length) {
            stats.offered += SLOW_DATA.length;
            session.push(SLOW_DATA);
          }
          break;
        }
        case 'delay':
        case 'open':
        case 'source':
          await sleep(param(url, 'ms', 0));
          session.push(TOKEN);
          break;
      }
      res.end();
    }
    return createServer((req, res) => void handle(req, res));
  },
};

/** Hono's own `streamSSE` helper on @hono/node-server. */
const honoStreamSse: Contender = {
  name: 'hono streamSSE',
  available: () => true,
  async create(config, stats) {
    const { Hono } = await import('hono');
    const { streamSSE } = await import('hono/streaming');
    const { createAdaptorServer } = await import('@hono/node-server');
    const app = new Hono();
    app.get('/burst', (c) =>
      streamSSE(c, async (stream) => {
        const n = param(c.req.url, 'n', 1);
        for (let i = 0; i < n; i++) await stream.writeSSE({ data: TOKEN });
      }),
    );
    app.get('/idle', (c) =>
      streamSSE(c, async (stream) => {
        await stream.writeSSE({ data: TOKEN });
        // streamSSE has no heartbeat of its own: this is the loop its users write.
        while (!stream.aborted) {
          await stream.sleep(config.heartbeat);
          if (!stream.aborted) await stream.write(':\n\n');
        }
      }),
    );
    app.get('/slow', (c) =>
      streamSSE(c, async (stream) => {
        const bytes = param(c.req.url, 'bytes', 0);
        for (let sent = 0; sent < bytes && !stream.aborted; sent += SLOW_DATA.length) {
          stats.offered += SLOW_DATA.length;
          await stream.writeSSE({ data: SLOW_DATA });
        }
      }),
    );
    app.get('/delay', (c) =>
      streamSSE(c, async (stream) => {
        await stream.sleep(param(c.req.url, 'ms', 0));
        await stream.writeSSE({ data: TOKEN });
      }),
    );
    return createAdaptorServer({ fetch: app.fetch }) as Server;
  },
};

/** Express with a loop of `res.write` and no backpressure, as most tutorials show. */
const naiveExpress: Contender = {
  name: 'express res.write',
  available: () => true,
  async create(config, stats) {
    const { default: express } = await import('express');
    const app = express();
    const start = (res: ServerResponse): void => {
      res.writeHead(200, HEADERS);
      res.flushHeaders();
    };
    app.get('/burst', (req, res) => {
      const n = param(req.url, 'n', 1);
      start(res);
      for (let i = 0; i < n; i++) res.write(`data: ${TOKEN}\n\n`);
      res.end();
    });
    app.get('/idle', (_req, res) => {
      start(res);
      res.write(`data: ${TOKEN}\n\n`);
      const timer = setInterval(() => res.write(':\n\n'), config.heartbeat);
      res.once('close', () => clearInterval(timer));
    });
    app.get('/slow', (req, res) => {
      const bytes = param(req.url, 'bytes', 0);
      start(res);
      for (let sent = 0; sent < bytes; sent += SLOW_DATA.length) {
        stats.offered += SLOW_DATA.length;
        res.write(`data: ${SLOW_DATA}\n\n`);
      }
      res.end();
    });
    app.get('/delay', async (req, res) => {
      start(res);
      await sleep(param(req.url, 'ms', 0));
      res.write(`data: ${TOKEN}\n\n`);
      res.end();
    });
    return createServer(app);
  },
};

/**
 * The naive stream on a framework, for the idle-memory comparison of issue 12 (ssekit's own cost
 * over what the same framework costs without it): headers, one frame, a heartbeat `setInterval`
 * with `res.write` on the framework's Node response. Serves `/idle` only.
 */
function naiveIdle(res: ServerResponse, heartbeat: number): void {
  res.writeHead(200, HEADERS);
  res.flushHeaders();
  res.write(FRAME);
  const timer = setInterval(() => res.write(':\n\n'), heartbeat);
  res.once('close', () => clearInterval(timer));
}

/** Koa with `ctx.respond = false` and `ctx.res.write`, as Koa's docs show for raw streams. */
const naiveKoa: Contender = {
  name: 'koa res.write',
  idleOnly: true,
  available: () => true,
  async create(config) {
    const { default: Koa } = await import('koa');
    const app = new Koa();
    app.on('error', () => {}); // as in ssekit/koa's contender: resets are not the measurement
    app.use((ctx, next) => {
      if (route(ctx.url) !== 'idle') return next();
      ctx.respond = false;
      naiveIdle(ctx.res, config.heartbeat);
      return Promise.resolve();
    });
    return createServer(app.callback());
  },
};

/** Hono on @hono/node-server writing to `c.env.outgoing`, the Node response, by hand. */
const naiveHono: Contender = {
  name: 'hono outgoing.write',
  idleOnly: true,
  available: () => true,
  async create(config) {
    const { Hono } = await import('hono');
    const { createAdaptorServer } = await import('@hono/node-server');
    const { RESPONSE_ALREADY_SENT } = await import('@hono/node-server/utils/response');
    const app = new Hono<{ Bindings: { outgoing: ServerResponse } }>();
    app.get('/idle', (c) => {
      naiveIdle(c.env.outgoing, config.heartbeat);
      return RESPONSE_ALREADY_SENT;
    });
    return createAdaptorServer({ fetch: app.fetch }) as Server;
  },
};

/** Fastify with `reply.hijack()` and `reply.raw.write`, as Fastify's docs show for raw streams. */
const naiveFastify: Contender = {
  name: 'fastify raw.write',
  idleOnly: true,
  available: () => true,
  async create(config) {
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    app.get('/idle', (_request, reply) => {
      reply.hijack();
      naiveIdle(reply.raw, config.heartbeat);
    });
    await app.ready();
    return app.server;
  },
};

/** The Fastify adapter (`ssekit/fastify`) on Fastify 5, with Fastify's defaults (no logger). */
const ssekitFastify: Contender = {
  name: 'ssekit/fastify',
  available: () => existsSync(adapterPath('fastify')),
  async create(config, stats) {
    const { default: Fastify } = await import('fastify');
    const { sse } = await import('../adapters/fastify.js');
    const producers = ssekitProducers(stats);
    const options = ssekitOptions(config);
    const app = Fastify();
    app.get(
      '/burst',
      sse((writer, request) => producers.burst(writer, request.url), options.burst),
    );
    app.get(
      '/idle',
      sse((writer) => producers.idle(writer), options.idle),
    );
    app.get(
      '/slow',
      sse((writer, request) => producers.slow(writer, request.url), options.slow),
    );
    app.get(
      '/delay',
      sse((writer, request) => producers.delay(writer, request.url), options.delay),
    );
    app.get(
      '/open',
      sse((writer, request) => producers.delay(writer, request.url), options.open),
    );
    app.get(
      '/source',
      sse((_writer, request) => producers.source(request.url), options.source),
    );
    app.get(
      '/soak',
      sse((writer, request) => producers.soak(writer, request.url), options.soak),
    );
    await app.ready();
    return app.server;
  },
};

/** fastify-sse-v2 on Fastify 5, used as its README shows (`reply.sse()` with an async iterable). */
const fastifySseV2: Contender = {
  name: 'fastify-sse-v2',
  available: () => true,
  async create(config, stats) {
    const { default: Fastify } = await import('fastify');
    const { FastifySSEPlugin } = await import('fastify-sse-v2');
    const app = Fastify();
    // No `retry:` frame first (its default): every contender's stream starts with its event.
    await app.register(FastifySSEPlugin, { retryDelay: false });
    app.get('/burst', (request, reply) => {
      const n = param(request.url, 'n', 1);
      reply.sse(
        // eslint-disable-next-line @typescript-eslint/require-await -- reply.sse() takes an async iterable
        (async function* () {
          for (let i = 0; i < n; i++) yield { data: TOKEN };
        })(),
      );
    });
    app.get('/idle', (request, reply) => {
      reply.sse({ data: TOKEN });
      // fastify-sse-v2 has no heartbeat of its own: this is the loop its users write.
      const timer = setInterval(() => reply.sse({ comment: ' ' }), config.heartbeat);
      request.socket.once('close', () => {
        clearInterval(timer);
        reply.sseContext.source.end();
      });
    });
    app.get('/slow', (request, reply) => {
      const bytes = param(request.url, 'bytes', 0);
      reply.sse(
        // eslint-disable-next-line @typescript-eslint/require-await -- reply.sse() takes an async iterable
        (async function* () {
          for (let sent = 0; sent < bytes; sent += SLOW_DATA.length) {
            stats.offered += SLOW_DATA.length;
            yield { data: SLOW_DATA };
          }
        })(),
      );
    });
    app.get('/delay', (request, reply) => {
      const ms = param(request.url, 'ms', 0);
      reply.sse(
        (async function* () {
          await sleep(ms);
          yield { data: TOKEN };
        })(),
      );
    });
    await app.ready();
    return app.server;
  },
};

/** Every contender, in the order they run and are listed. */
export const contenders: readonly Contender[] = [
  baseline,
  handTuned,
  ssekitNode,
  ssekitExpress,
  ssekitKoa,
  ssekitHono,
  ssekitFastify,
  betterSse,
  honoStreamSse,
  fastifySseV2,
  naiveExpress,
  naiveKoa,
  naiveHono,
  naiveFastify,
];
