/**
 * A server child of bench/resume.ts: `node --import tsx bench/resume-server.ts <contender>`.
 * Contenders: `node-off` / `express-off` (a plain ssekit stream: resume off) and `node-memory` /
 * `express-memory` (the same producer through `createResumable` on the memory store: a
 * generation in the log, the response a reader of it). Routes (GET):
 *
 * - `/burst?n=N`: N events of a 5-byte token, the producer awaiting each `send()`.
 * - `/prepare?id=X&n=N` (memory only): runs a generation of N events to its end; answers `{gen}`.
 * - `/resume?id=X&cursor=C` (memory only): resumes X after cursor C.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { SseWriter } from 'ssekit';
import { sendSse as sendExpress, sse as sseExpress } from 'ssekit/express';
import { sendSse, sse } from 'ssekit/node';
import { createResumable, memoryStore, type ResumeReply } from 'ssekit/resume';
import { param, serveCalls, TOKEN } from './shared.js';

const [name = ''] = process.argv.slice(2);
const options = { heartbeat: false } as const;
const resumable = createResumable({
  store: memoryStore({ retention: { afterDoneMs: 10_000 } }),
  continueForMs: 0,
});
let next = 0;

async function burst(writer: SseWriter, url: string): Promise<void> {
  const n = param(url, 'n', 1000);
  for (let i = 0; i < n; i++) await writer.send(TOKEN);
}

async function prepare(url: URL): Promise<string> {
  const id = url.searchParams.get('id') ?? 'r';
  const reply = await resumable.start(id, (writer) => burst(writer, url.href));
  await reply.source?.return?.();
  await resumable.result(id);
  return reply.gen ?? '';
}

function resume(url: URL): Promise<ResumeReply> {
  return resumable.resume(url.searchParams.get('id') ?? 'r', {
    cursor: url.searchParams.get('cursor'),
  });
}

async function nodeMemory(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://bench');
  if (url.pathname === '/prepare') return void res.end(JSON.stringify({ gen: await prepare(url) }));
  const reply =
    url.pathname === '/resume'
      ? await resume(url)
      : await resumable.start(`b${next++}`, (writer) => burst(writer, url.href));
  for (const [header, value] of Object.entries(reply.headers)) res.setHeader(header, value);
  if (reply.source === undefined) return void res.writeHead(reply.status).end();
  await sendSse(res, reply.source, options);
}

function expressMemory(): express.Express {
  const app = express();
  app.get('/prepare', (req, res, next) => {
    prepare(new URL(req.url, 'http://bench'))
      .then((gen) => void res.json({ gen }))
      .catch(next);
  });
  const answer = (reply: ResumeReply, res: express.Response): Promise<void> => {
    res.status(reply.status).set(reply.headers);
    if (reply.source === undefined) return Promise.resolve(void res.end());
    return sendExpress(res, reply.source, options);
  };
  app.get('/resume', (req, res, next) => {
    resume(new URL(req.url, 'http://bench'))
      .then((reply) => answer(reply, res))
      .catch(next);
  });
  app.get('/burst', (req, res, fail) => {
    resumable
      .start(`b${next++}`, (writer) => burst(writer, req.url))
      .then((reply) => answer(reply, res))
      .catch(fail);
  });
  return app;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

const handlers: Record<string, () => Listener> = {
  'node-off': () => sse((writer, req) => burst(writer, req.url ?? '/'), options),
  'node-memory': () => (req, res) => void nodeMemory(req, res).catch(() => res.destroy()),
  'express-off': () => {
    const app = express();
    app.get(
      '/burst',
      sseExpress((writer, req) => burst(writer, req.url), options),
    );
    return app;
  },
  'express-memory': () => expressMemory(),
};
const make = handlers[name];
if (make === undefined) throw new Error(`unknown contender ${name}`);
const server = createServer(make());
server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
  process.send?.({ ready: true, port: (server.address() as AddressInfo).port });
});
serveCalls({
  cpu: () => process.cpuUsage(),
  mem: () => process.memoryUsage(),
  exit: () => {
    setImmediate(() => process.exit(0));
    return true;
  },
});
