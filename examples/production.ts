// docs/production.md: limits, stats and a graceful drain on SIGTERM, with Express, Koa, Hono and
// Fastify. Run: npx tsx examples/production.ts (Express on :3000; SIGTERM drains and exits).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Context, Hono } from 'hono';
import Koa from 'koa';
import {
  createLimiter,
  drain,
  type DrainResult,
  isDraining,
  type SseWriter,
  type StreamLifecycle,
} from 'ssekit';
import { sse as expressSse } from 'ssekit/express';
import { sse as honoSse } from 'ssekit/hono';
import { sse as koaSse } from 'ssekit/koa';
import { sendSse } from 'ssekit/node';

export const ANSWER =
  'A drain sends each open stream a retry hint, and its client reconnects elsewhere.';

/** A stand-in for a model: a word every 150 ms, stopped by the signal. */
async function answer(writer: SseWriter): Promise<void> {
  for (const token of ANSWER.split(/(?= )/)) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    if (writer.signal.aborted) return;
    await writer.send(token);
  }
}

/** What every endpoint logs when a stream ends: one line per stream. */
export const lines: string[] = [];
const logStats: StreamLifecycle = {
  onEnd: (s) =>
    lines.push(
      `stream ${s.reason}: ${s.events} events, ${s.bytes} B, first token ${s.timeToFirstEvent?.toFixed(0)} ms`,
    ),
};

// The same stream options on every framework.
const options = {
  done: { event: 'done', data: '' },
  maxLifetime: 10 * 60_000, // no stream outlives 10 minutes
  maxIdle: 2 * 60_000, // nor 2 minutes without a token
  lifecycle: logStats,
};

/**
 * The SIGTERM sequence: readiness fails and new streams get 503 at once, open streams get a
 * `retry:` hint over `window`, the server closes once they are gone, before `deadline`.
 */
export async function shutdown(server: Server): Promise<DrainResult> {
  const result = await drain({ server, window: 10_000, deadline: 25_000 });
  await new Promise((resolve) => server.close(resolve));
  return result;
}

export function startExpress(port = 0): Server {
  const app = express();
  const server = createServer(app);
  const limiter = createLimiter({ max: 10_000, perKey: 5, key: (req: express.Request) => req.ip });
  app.get('/healthz', (_req, res) => void res.sendStatus(isDraining(server) ? 503 : 200));
  app.get('/chat', expressSse(answer, { ...options, limiter }));
  return server.listen(port, '127.0.0.1');
}

export function startKoa(port = 0): Server {
  const app = new Koa();
  let server: Server | undefined = undefined; // made below, once the middleware is in place
  const limiter = createLimiter({ max: 10_000, perKey: 5, key: (ctx: Koa.Context) => ctx.ip });
  const chat = koaSse(answer, { ...options, limiter });
  app.use(async (ctx, next) => {
    if (ctx.path === '/healthz') ctx.status = server && isDraining(server) ? 503 : 200;
    else if (ctx.path === '/chat') await chat(ctx);
    else await next();
  });
  server = createServer(app.callback()); // callback() takes the middleware as it is now
  return server.listen(port, '127.0.0.1');
}

export function startHono(port = 0): Server {
  const app = new Hono();
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  const limiter = createLimiter({
    max: 10_000,
    perKey: 5,
    key: (c: Context) => c.req.header('x-api-key'),
  });
  app.get('/healthz', (c) => c.body(null, isDraining(server) ? 503 : 200));
  app.get('/chat', honoSse(answer, { ...options, limiter }));
  return server.listen(port, '127.0.0.1');
}

export async function startFastify(port = 0): Promise<FastifyInstance> {
  const app = Fastify();
  app.get('/healthz', (_request, reply) => reply.code(isDraining(app.server) ? 503 : 200).send());
  app.get('/chat', (_request, reply) => {
    reply.hijack(); // ssekit writes the Node response itself
    sendSse(reply.raw, answer, options).catch(() => reply.raw.destroy());
  });
  await app.listen({ port, host: '127.0.0.1' });
  return app;
}

/** Fastify closes through `app.close()` (its onClose hooks run), after the drain. */
export async function shutdownFastify(app: FastifyInstance): Promise<DrainResult> {
  const result = await drain({ server: app.server, window: 10_000, deadline: 25_000 });
  await app.close();
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = startExpress(3000);
  process.once('SIGTERM', () => {
    void shutdown(server).then((result) => console.log('drained', result));
  });
  server.once('listening', () => {
    console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}/chat`);
  });
}
