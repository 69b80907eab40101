/**
 * Small servers for the client's tests, written by hand on ssekit's public API: a resumable chat
 * that follows the resume wire contract (ids `<gen>.<seq>`, `Last-Event-ID`, `204`, reset,
 * `SSEKit-*` headers), a lockstep endpoint, a plain (not resumable) endpoint whose producer
 * stops on abort, error answers; the same routes on Express, Koa and Hono; and a TCP proxy on
 * loopback that can drop every connection.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import { createAdaptorServer } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import type { SseOptions, SseWriter } from 'ssekit';
import { sendSse as expressSse } from 'ssekit/express';
import { sendSse as honoSse } from 'ssekit/hono';
import { sendSse as koaSse } from 'ssekit/koa';

export type Framework = 'express' | 'koa' | 'hono';
export const frameworks: readonly Framework[] = ['express', 'koa', 'hono'];

/** The tokens of the test chat's answer to one prompt. */
export const tokensFor = (prompt: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prompt}#${i + 1} `);

interface Chat {
  readonly gen: string;
  readonly events: string[];
  finished: boolean;
  trimmed: boolean;
  wake: () => void;
  next: Promise<void>;
}

/** What the test servers remember, and how a test steers them. */
export class ChatLog {
  /** Answers per prompt: how many tokens. */
  tokens = 12;
  /** Milliseconds between two tokens of the chat's producer. */
  pace = 2;
  /** The chat's frame format. */
  format: 'sse' | 'ndjson' = 'sse';
  /** A `retry:` hint sent first on every chat response. */
  retry: number | undefined = undefined;
  /** Replays start this many events before the cursor (a sloppy server), to exercise dedupe. */
  overlap = 0;
  /**
   * Cuts wait until the client reports ({@link ChatLog.seen}) the last event sent before the cut:
   * a browser may drop body bytes still in flight when the connection fails, and a test that
   * counts on them being read must hold the cut until they are.
   */
  gated = false;
  private seenSeq = 0;
  private seenWake: (() => void) | undefined = undefined;
  /** For the next responses, in order: after how many events to destroy the socket. */
  readonly cuts: number[] = [];
  /** Generations started (the prompt run), POSTs, and resume requests with their cursor. */
  runs = 0;
  readonly resumes: { lastEventId: string | undefined; at: number }[] = [];
  /** The plain endpoint: tokens sent, and whether its producer saw the abort. */
  plainSent = 0;
  readonly plainAborted: Promise<void>;
  private abortPlain: () => void = () => {};
  /** The lockstep endpoint: events sent so far, and the client's acknowledgements. */
  lockstepSent = 0;
  private acks: (() => void)[] = [];
  readonly chats = new Map<string, Chat>();

  constructor() {
    this.plainAborted = new Promise((resolve) => (this.abortPlain = resolve));
  }

  /** Tells the log that the client holds the event with this id (`<gen>.<seq>`). */
  seen(id: string | undefined): void {
    const seq = Number(id?.split('.')[1] ?? 0);
    if (seq <= this.seenSeq) return;
    this.seenSeq = seq;
    this.seenWake?.();
  }

  private async untilSeen(seq: number): Promise<void> {
    while (this.gated && this.seenSeq < seq) {
      await new Promise<void>((resolve) => (this.seenWake = resolve));
    }
  }

  /** Tells the lockstep endpoint that the client holds event `k`. */
  ack(k: number): void {
    this.acks[k]?.();
  }

  start(id: string, prompt: string): Chat {
    this.runs += 1;
    let wake = (): void => {};
    const chat: Chat = {
      gen: Math.random().toString(36).slice(2, 10),
      events: [],
      finished: false,
      trimmed: false,
      wake,
      next: new Promise<void>((resolve) => (wake = resolve)),
    };
    chat.wake = wake;
    this.chats.set(id, chat);
    void this.produce(chat, prompt);
    return chat;
  }

  private held: { after: number; released: Promise<void> } | undefined = undefined;

  /**
   * Makes generations stop after `after` tokens until the returned function is called: a test
   * cuts a stream that is certainly unfinished.
   */
  hold(after: number): () => void {
    let release = (): void => {};
    this.held = { after, released: new Promise<void>((resolve) => (release = resolve)) };
    return () => {
      this.held = undefined;
      release();
    };
  }

  // The generation runs on its own, whatever happens to the connections that follow it.
  private async produce(chat: Chat, prompt: string): Promise<void> {
    for (const token of tokensFor(prompt, this.tokens)) {
      if (this.held && chat.events.length >= this.held.after) await this.held.released;
      await sleep(this.pace);
      chat.events.push(token);
      this.notify(chat);
    }
    chat.finished = true;
    this.notify(chat);
  }

  private notify(chat: Chat): void {
    const wake = chat.wake;
    chat.next = new Promise<void>((resolve) => (chat.wake = resolve));
    wake();
  }

  /** Sends the chat's events after `after` to a response, cutting it as `cuts` says. */
  async follow(
    writer: SseWriter,
    chat: Chat,
    after: number,
    destroy: () => void,
    reset?: string,
  ): Promise<void> {
    const cut = this.cuts.shift();
    // NDJSON has no event names: there the `SSEKit-Resume: reset` header is the only signal.
    if (reset !== undefined && this.format === 'sse') {
      await writer.send({ reason: reset }, { event: 'ssekit.reset' });
    }
    let sent = 0;
    for (let seq = after + 1; ; seq++) {
      while (seq > chat.events.length && !chat.finished) await chat.next;
      if (writer.signal.aborted) return;
      if (cut === sent) {
        await this.untilSeen(after + sent);
        return cutNow(writer, destroy);
      }
      if (seq > chat.events.length) return; // finished: the endpoint's `done` frame follows
      await writer.send(chat.events[seq - 1], { id: `${chat.gen}.${seq}` });
      sent += 1;
    }
  }

  /** The lockstep endpoint: event k+1 is sent only once the client has acknowledged k. */
  async lockstep(writer: SseWriter, count: number): Promise<void> {
    for (let k = 1; k <= count; k++) {
      const acked = new Promise<void>((resolve) => (this.acks[k] = resolve));
      await writer.send(`e${k}`);
      this.lockstepSent = k;
      await acked;
    }
  }

  /** The plain endpoint: tokens until the client goes away. */
  async plain(writer: SseWriter): Promise<void> {
    writer.signal.addEventListener('abort', () => this.abortPlain(), { once: true });
    while (!writer.signal.aborted) {
      await writer.send(`p${++this.plainSent}`);
      await sleep(5);
    }
  }

  /** The resume route answers this many requests `503` first (a server restarting). */
  unavailable = 0;

  /** How the resume route answers a cursor: `204`, or where to start and with which headers. */
  resume(
    id: string,
    cursor: string | undefined,
  ): { status: 204 | 503 } | { chat: Chat; after: number; reset?: string; headers: Headers } {
    this.resumes.push({ lastEventId: cursor, at: Date.now() });
    if (this.unavailable > 0) {
      this.unavailable -= 1;
      return { status: 503 };
    }
    const chat = this.chats.get(id);
    if (!chat) return { status: 204 };
    const match = cursor === undefined ? undefined : /^([\w-]{1,32})\.(\d+)$/.exec(cursor);
    let reset: string | undefined;
    let after = 0;
    if (cursor !== undefined) {
      if (!match) reset = 'unknown_cursor';
      else if (match[1] !== chat.gen) reset = 'generation_changed';
      else if (chat.trimmed) reset = 'trimmed';
      else if (Number(match[2]) > chat.events.length) reset = 'unknown_cursor';
      else after = Number(match[2]);
    }
    if (reset === undefined && chat.finished && after === chat.events.length)
      return { status: 204 };
    if (reset === undefined) after = Math.max(0, after - this.overlap);
    const headers = new Headers({
      'ssekit-resume': reset === undefined ? 'continued' : 'reset',
      'ssekit-cursor': `${chat.gen}.${after}`,
    });
    return reset === undefined ? { chat, after, headers } : { chat, after, reset, headers };
  }

  /** The options of the chat responses. */
  get options(): SseOptions<unknown, unknown> {
    return {
      format: this.format,
      done: this.format === 'sse' ? { event: 'done', data: '' } : { data: '[DONE]' },
      heartbeat: false,
      ...(this.retry === undefined ? {} : { retry: this.retry }),
    };
  }
}

async function cutNow(writer: SseWriter, destroy: () => void): Promise<void> {
  // Let the frames written so far reach the socket (the Node transport joins a tick's frames),
  // then close it once they are flushed; hold the producer until the engine sees the close, so
  // the `done` frame is never written: the cut falls exactly here.
  await new Promise((resolve) => setImmediate(resolve));
  destroy();
  if (!writer.signal.aborted) await once(writer.signal, 'abort');
}

export const startHeaders = (id: string, chat: Chat): Headers =>
  new Headers({
    'ssekit-resume': 'new',
    'ssekit-cursor': `${chat.gen}.0`,
    'ssekit-resume-url': `/chat/${encodeURIComponent(id)}/stream`,
  });

const failing = {
  errorEvent: () => ({
    event: 'error',
    data: { code: 'internal_error', error: 'Internal Server Error' },
  }),
  heartbeat: false,
} as const;

async function failingProducer(writer: SseWriter): Promise<void> {
  await writer.send('one');
  await writer.send('two');
  throw new Error('secret internal detail');
}

const promptOf = (body: unknown): string => {
  const prompt = (body as { prompt?: unknown } | undefined)?.prompt;
  return typeof prompt === 'string' ? prompt : 'hi';
};

/** A started test server. */
export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<TestServer> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// `destroySoon`: FIN once what was written is flushed, then destroy: a cut, not a lost frame.
const destroyer = (req: IncomingMessage) => () => req.socket.destroySoon();

function expressApp(log: ChatLog): Server {
  const app = express();
  app.use(express.json());
  app.post('/chat/:id', (req, res, next) => {
    const chat = log.start(req.params.id, promptOf(req.body));
    res.setHeaders(startHeaders(req.params.id, chat));
    expressSse(res, (w) => log.follow(w, chat, 0, destroyer(req)), log.options).catch(next);
  });
  app.get('/chat/:id/stream', (req, res, next) => {
    const found = log.resume(req.params.id, req.get('last-event-id'));
    if ('status' in found) return void res.status(found.status).end();
    res.setHeaders(found.headers);
    const producer = (w: SseWriter) =>
      log.follow(w, found.chat, found.after, destroyer(req), found.reset);
    expressSse(res, producer, log.options).catch(next);
  });
  app.post('/lockstep', (req, res, next) => {
    expressSse(res, (w) => log.lockstep(w, 5), { done: { data: '[DONE]' } }).catch(next);
  });
  app.post('/plain', (req, res, next) => {
    expressSse(res, (w) => log.plain(w), { heartbeat: false }).catch(next);
  });
  app.post('/fails', (req, res, next) => expressSse(res, failingProducer, failing).catch(next));
  app.get('/status/:code', (req, res) => void res.status(Number(req.params.code)).send('nope'));
  app.get('/html', (_req, res) => void res.type('html').send('<p>hi</p>'));
  return createServer(app);
}

function koaApp(log: ChatLog): Server {
  const app = new Koa();
  const router = new Router();
  const setAll = (ctx: Koa.Context, headers: Headers) => {
    for (const [name, value] of headers) ctx.set(name, value);
  };
  router.post('/chat/:id', async (ctx) => {
    const id = ctx.params.id as string;
    const chat = log.start(id, promptOf(ctx.request.body));
    setAll(ctx, startHeaders(id, chat));
    await koaSse(ctx, (w) => log.follow(w, chat, 0, destroyer(ctx.req)), log.options);
  });
  router.get('/chat/:id/stream', async (ctx) => {
    const found = log.resume(ctx.params.id as string, ctx.get('last-event-id') || undefined);
    if ('status' in found) return void (ctx.status = found.status);
    setAll(ctx, found.headers);
    const producer = (w: SseWriter) =>
      log.follow(w, found.chat, found.after, destroyer(ctx.req), found.reset);
    await koaSse(ctx, producer, log.options);
  });
  router.post('/lockstep', (ctx) =>
    koaSse(ctx, (w) => log.lockstep(w, 5), { done: { data: '[DONE]' } }),
  );
  router.post('/plain', (ctx) => koaSse(ctx, (w) => log.plain(w), { heartbeat: false }));
  router.post('/fails', (ctx) => koaSse(ctx, failingProducer, failing));
  router.get('/status/:code', (ctx) => {
    ctx.status = Number(ctx.params.code);
    ctx.body = 'nope';
  });
  router.get('/html', (ctx) => {
    ctx.type = 'html';
    ctx.body = '<p>hi</p>';
  });
  app.use(bodyParser());
  app.use(router.routes());
  return createServer(app.callback());
}

function honoApp(log: ChatLog): Server {
  const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();
  const setAll = (c: { header(name: string, value: string): void }, headers: Headers) => {
    for (const [name, value] of headers) c.header(name, value);
  };
  app.post('/chat/:id', async (c) => {
    const id = c.req.param('id');
    const chat = log.start(id, promptOf(await c.req.json()));
    setAll(c, startHeaders(id, chat));
    return honoSse(c, (w) => log.follow(w, chat, 0, destroyer(c.env.incoming)), log.options);
  });
  app.get('/chat/:id/stream', (c) => {
    const found = log.resume(c.req.param('id'), c.req.header('last-event-id'));
    if ('status' in found) return c.body(null, found.status);
    setAll(c, found.headers);
    const producer = (w: SseWriter) =>
      log.follow(w, found.chat, found.after, destroyer(c.env.incoming), found.reset);
    return honoSse(c, producer, log.options);
  });
  app.post('/lockstep', (c) => honoSse(c, (w) => log.lockstep(w, 5), { done: { data: '[DONE]' } }));
  app.post('/plain', (c) => honoSse(c, (w) => log.plain(w), { heartbeat: false }));
  app.post('/fails', (c) => honoSse(c, failingProducer, failing));
  app.get('/status/:code', (c) => c.text('nope', Number(c.req.param('code')) as 500));
  app.get('/html', (c) => c.html('<p>hi</p>'));
  return createAdaptorServer({ fetch: app.fetch }) as Server;
}

const apps: Record<Framework, (log: ChatLog) => Server> = {
  express: expressApp,
  koa: koaApp,
  hono: honoApp,
};

/** Starts the test routes on `framework`, on 127.0.0.1 port 0. */
export function startChatServer(framework: Framework, log: ChatLog): Promise<TestServer> {
  return listen(apps[framework](log));
}

/** A TCP proxy on loopback in front of `target`; `drop()` cuts every connection through it. */
export interface Proxy {
  readonly url: string;
  /** Connections made through the proxy. */
  readonly connections: number;
  drop(): void;
  close(): Promise<void>;
}

export async function startProxy(target: string): Promise<Proxy> {
  const { port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: NetServer = createNetServer((client) => {
    connections += 1;
    const upstream = new Socket();
    upstream.connect(Number(targetPort), '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // A dropped connection errors on both sides: the test expects exactly that.
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    drop() {
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
