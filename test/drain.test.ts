/**
 * Graceful drain (issue 12, item 1): readiness flips, new streams get 503 with Retry-After before
 * any stream byte, open streams are ended over the window with a `retry:` hint and
 * `event: ssekit.drain`, and their EventSource clients reconnect to the other instance behind a
 * load balancer; registered producers run until the deadline; everything closes before it.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect } from 'node:net';
import { EventSource } from 'eventsource';
import {
  type DrainableProducer,
  drain,
  drainStatus,
  isDraining,
  isSseError,
  registerProducer,
  registerStream,
  resolveOptions,
  runStream,
  type SseError,
  type SseWriter,
} from 'ssekit';
import { sse } from 'ssekit/node';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, EventReader, http2Request, rawRequest, until } from './conformance/clients.js';
import { type Running, targets } from './conformance/targets.js';
import { aborted, serve } from './integrations/helpers.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `{ server, n }` every `every` ms until the stream is ended; records when in `ends`. */
function ticker(server: string, every: number, ends: number[] = []) {
  return async (writer: SseWriter): Promise<void> => {
    const stop = aborted(writer.signal).then(() => ends.push(Date.now()));
    for (let n = 0; !writer.signal.aborted; n++) {
      await writer.send({ server, n });
      await Promise.race([sleep(every), stop]);
    }
  };
}

/**
 * A loopback load balancer: sends each request to the first upstream, and to the next one when
 * an upstream answers 503 (nginx's `proxy_next_upstream http_503`), before any body byte.
 */
function balancer(upstreams: string[]): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const attempt = (index: number): void => {
      const upstream = upstreams[index];
      if (upstream === undefined) return void res.writeHead(502).end();
      const out = httpRequest(
        `${upstream}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers, agent: false },
        (answer) => {
          if (answer.statusCode === 503) {
            answer.resume();
            return attempt(index + 1);
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.once('error', () => {
        if (!res.headersSent) attempt(index + 1);
        else res.destroy();
      });
      res.once('close', () => out.destroy());
      out.end();
    };
    attempt(0);
  });
}

describe('drain with 1,000 open streams and a second instance behind a load balancer', () => {
  const running: Running[] = [];
  const sources: EventSource[] = [];
  afterEach(async () => {
    for (const source of sources.splice(0)) source.close();
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  it('flips readiness, answers 503, ends every stream over the window with retry:, clients move to B, A closes before the deadline', async () => {
    const STREAMS = 1_000;
    const WINDOW = 2_000;
    const DEADLINE = 10_000;
    const [expressTarget, honoTarget] = [targets[1], targets[4]] as [
      (typeof targets)[number],
      (typeof targets)[number],
    ];
    const endedOnA: number[] = [];
    const a = await expressTarget.start([
      { method: 'get', path: '/s', produce: ticker('A', 1_000, endedOnA) },
    ]);
    const b = await honoTarget.start([{ method: 'get', path: '/s', produce: ticker('B', 1_000) }]);
    running.push(a, b);
    const lb = await serve(balancer([a.url, b.url]));

    interface Client {
      servers: string[];
      drainedAt: number | undefined;
      retry: number | undefined;
      drainIndex: number;
    }
    const clients: Client[] = [];
    for (let i = 0; i < STREAMS; i++) {
      const client: Client = {
        servers: [],
        drainedAt: undefined,
        retry: undefined,
        drainIndex: -1,
      };
      const source = new EventSource(`${lb}/s`);
      source.onmessage = (event) => {
        client.servers.push((JSON.parse(String(event.data)) as { server: string }).server);
      };
      source.addEventListener('ssekit.drain', (event) => {
        client.drainedAt = Date.now();
        client.drainIndex = client.servers.length;
        client.retry = (JSON.parse(String(event.data)) as { retry: number }).retry;
      });
      clients.push(client);
      sources.push(source);
    }
    await until(
      () => clients.every((c) => c.servers.length > 0),
      'every client to stream from A',
      3_000,
    );
    expect(clients.every((c) => c.servers.every((s) => s === 'A'))).toBe(true);

    expect(isDraining(a.server)).toBe(false);
    const startedAt = Date.now();
    const drained = drain({
      server: a.server,
      window: WINDOW,
      deadline: DEADLINE,
      retry: 100,
      retryJitter: 400,
      retryAfter: 3,
    });
    // Readiness flips at once, for A only.
    expect(isDraining(a.server)).toBe(true);
    expect(isDraining(b.server)).toBe(false);
    expect(isDraining()).toBe(false); // the process as a whole is not draining
    // A new stream on A gets 503 + Retry-After before any stream byte.
    const { res } = await rawRequest(`${a.url}/s`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('3');
    expect(res.headers['content-type']).not.toBe('text/event-stream');
    res.resume();
    expect(drainStatus().draining).toBe(true);

    const result = await drained;
    const finishedAt = Date.now();
    // A closes by itself (no closeAllConnections) before the deadline.
    await new Promise<void>((resolve, reject) =>
      a.server.close((error) => (error ? reject(error) : resolve())),
    );
    const closedAt = Date.now();
    expect(result).toMatchObject({ streams: STREAMS, ended: STREAMS, cut: 0 });
    expect(finishedAt - startedAt).toBeLessThan(DEADLINE);
    expect(closedAt - startedAt).toBeLessThan(DEADLINE);

    await until(
      () => clients.every((c) => c.servers.slice(c.drainIndex).includes('B')),
      'every client to reconnect to B',
      1_500,
    );
    // Every stream on A was ended within the window (plus event-loop slack on a busy machine).
    expect(endedOnA).toHaveLength(STREAMS);
    expect(Math.max(...endedOnA) - startedAt).toBeLessThan(WINDOW + 1_000);
    const times = clients.map((c) => c.drainedAt as number);
    expect(times.every((t) => t !== undefined)).toBe(true);
    // Spread over the window, not all at once; all before the deadline.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(WINDOW / 2);
    expect(Math.max(...times) - startedAt).toBeLessThan(DEADLINE);
    for (const client of clients) {
      expect(client.retry).toBeGreaterThanOrEqual(100);
      expect(client.retry).toBeLessThanOrEqual(500);
      // Everything before the drain event came from A, everything after from B.
      expect(client.servers.slice(0, client.drainIndex).every((s) => s === 'A')).toBe(true);
      expect(client.servers.slice(client.drainIndex).every((s) => s === 'B')).toBe(true);
    }
    const jitter = new Set(clients.map((c) => c.retry));
    expect(jitter.size).toBeGreaterThan(10); // the hints differ: reconnects are spread too
  }, 60_000);
});

describe.each(targets)('drain on $name', (target) => {
  const running: Running[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  it('ends open streams with retry: and ssekit.drain, answers new ones 503, resolves when all are closed', async () => {
    const app = await target.start([{ method: 'get', path: '/s', produce: ticker('A', 50) }]);
    running.push(app);
    const readers = await Promise.all(
      [1, 2, 3].map(async () => new EventReader((await rawRequest(`${app.url}/s`)).res)),
    );
    await Promise.all(readers.map((reader) => reader.waitFor(1)));
    const drained = drain({ server: app.server, window: 300, retry: 700, retryJitter: 0 });
    expect(isDraining(app.server)).toBe(true);
    const { res } = await rawRequest(`${app.url}/s`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    res.resume();
    const result = await drained;
    expect(result).toMatchObject({ streams: 3, ended: 3, finished: 0, cut: 0 });
    for (const reader of readers) {
      await reader.ended;
      const last = reader.events.at(-1);
      expect(last?.event).toBe('ssekit.drain');
      expect(JSON.parse(last?.data ?? '')).toEqual({ reason: 'drain', retry: 700 });
      expect(reader.raw).toMatch(/retry: 700\n/);
    }
  });
});

describe.each(targets.filter((t) => t.http2))('drain over HTTP/2 on $name', (target) => {
  const running: Running[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  it('ends the open stream with ssekit.drain and refuses a new one with 503', async () => {
    const app = await target.start([{ method: 'get', path: '/s', produce: ticker('A', 50) }], true);
    running.push(app);
    const open = await http2Request(app.url, '/s');
    const reader = new EventReader(open.stream);
    await reader.waitFor(1);
    const result = await drain({ server: app.server, window: 0, retry: 5, retryJitter: 0 });
    expect(result).toMatchObject({ streams: 1, ended: 1 });
    await reader.ended;
    expect(reader.events.at(-1)?.event).toBe('ssekit.drain');
    const refused = await http2Request(app.url, '/s');
    expect(refused.headers[':status']).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    open.close();
    refused.close();
  });
});

describe('drain', () => {
  const scope = (): object => ({}); // a server of its own per test: drains are per server

  it('waits for a registered producer that finishes before the deadline, telling it the deadline', async () => {
    const server = scope();
    const finished = deferred();
    let told: number | undefined;
    const producer: DrainableProducer = {
      server,
      onDrain: (deadline) => (told = deadline),
      abort: () => {
        throw new Error('not to be aborted');
      },
      done: finished.promise,
    };
    const unregister = registerProducer(producer);
    const startedAt = Date.now();
    const drained = drain({ server, window: 0, deadline: 5_000 });
    expect(told).toBeGreaterThanOrEqual(startedAt + 5_000);
    let settled = false;
    void drained.then(() => (settled = true));
    await sleep(50);
    expect(settled).toBe(false); // the producer still runs
    finished.resolve();
    unregister();
    const result = await drained;
    expect(result).toMatchObject({ producersFinished: 1, producersAborted: 0 });
    expect(result.duration).toBeLessThan(5_000);
  });

  it('aborts a producer still running at the deadline with a DRAINING reason', async () => {
    const server = scope();
    const stopped = deferred<SseError>();
    registerProducer({
      server,
      abort: (reason) => stopped.resolve(reason),
      done: stopped.promise,
    });
    const result = await drain({ server, window: 0, deadline: 100 });
    expect(result).toMatchObject({ producersAborted: 1, producersFinished: 0 });
    const reason = await stopped.promise;
    expect(isSseError(reason) && reason.code).toBe('DRAINING');
  });

  it('tells a producer registered while its server drains at once', async () => {
    const server = scope();
    const hold = deferred();
    registerProducer({ server, abort: () => {}, done: hold.promise });
    const drained = drain({ server, window: 0, deadline: 2_000 });
    let told = false;
    registerProducer({
      server,
      onDrain: () => (told = true),
      abort: () => {},
      done: Promise.resolve(),
    });
    expect(told).toBe(true);
    hold.resolve();
    expect((await drained).producersFinished).toBe(2);
  });

  it('cuts a stream whose client stopped reading at the deadline', async () => {
    const started = deferred();
    const server = createServer(
      sse(async (writer) => {
        started.resolve();
        const chunk = 'x'.repeat(64 * 1024);
        const stop = aborted(writer.signal);
        while (!writer.signal.aborted) await Promise.race([writer.send(chunk), stop]);
      }),
    );
    const url = new URL(await serve(server));
    // A client that sends its request and never reads: the stream fills up and blocks.
    const socket = connect(Number(url.port), url.hostname);
    socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
    socket.pause();
    await started.promise;
    await sleep(100);
    const result = await drain({ server, window: 0, deadline: 300 });
    socket.destroy();
    expect(result).toMatchObject({ streams: 1, cut: 1 });
  });

  it('counts a stream that finished by itself before its turn', async () => {
    const server = createServer(
      sse(async (writer, req) => {
        const quick = req.url === '/quick';
        await writer.send('x');
        if (quick) await sleep(30);
        else await aborted(writer.signal);
      }),
    );
    const url = await serve(server);
    const slow = new EventReader((await rawRequest(`${url}/slow`)).res);
    const quick = new EventReader((await rawRequest(`${url}/quick`)).res);
    await Promise.all([slow.waitFor(1), quick.waitFor(1)]);
    // The slow stream (opened first) is ended at once, the quick one's turn comes at the window's end.
    const result = await drain({ server, window: 400 });
    expect(result).toMatchObject({ streams: 2, ended: 1, finished: 1 });
  });

  it('drains a stream of a custom transport registered with registerStream', async () => {
    const server = scope();
    const frames: string[] = [];
    const run = runStream(
      {
        commit() {},
        write: (chunk) => (frames.push(chunk), true),
        waitForDrain: () => Promise.resolve(),
        close() {},
      },
      async (writer: SseWriter) => {
        await writer.send('x');
        await aborted(writer.signal);
      },
      resolveOptions({ heartbeat: false }),
    );
    const unregister = registerStream(run, server);
    void run.done.then(unregister);
    const result = await drain({ server, window: 0, retry: 9, retryJitter: 0 });
    expect(result).toMatchObject({ streams: 1, ended: 1 });
    expect(frames).toEqual([
      'data: x\n\n',
      'event: ssekit.drain\nretry: 9\ndata: {"reason":"drain","retry":9}\n\n',
    ]);
  });

  it('returns the same promise when called again for the same server', async () => {
    const server = scope();
    const first = drain({ server, window: 0 });
    expect(drain({ server })).toBe(first);
    await first;
  });

  it.each([
    [{ window: -1 }, 'window'],
    [{ window: 2_000, deadline: 1_000 }, 'deadline'],
    [{ retry: 1.5 }, 'retry'],
    [{ retryJitter: 'x' as unknown as number }, 'retryJitter'],
    [{ retryAfter: -2 }, 'retryAfter'],
    [{ server: 'main' as unknown as object }, 'server'],
  ])('names the bad option %o', (options, field) => {
    let error: unknown;
    try {
      void drain(options);
    } catch (caught) {
      error = caught;
    }
    expect(isSseError(error) && error.field).toBe(field);
  });
});
