/**
 * Resumable streams on the Redis store, side by side with resume off and the memory store, on
 * Express and ssekit/node: `node --import tsx bench/resume-redis.ts [--quick] [--write]`.
 *
 * It starts its own `redis-server` (free loopback port, no persistence), one or two server child
 * processes per contender (`--serve`), and the raw-HTTP client child of `bench/client.ts`, and
 * prints (with `--write`, also replaces the section in `bench/RESULTS.md`):
 *
 * - events/s and server CPU per event on 1 connection and on 100 connections;
 * - Redis commands per 1,000 events (`INFO commandstats`), and round trips per flush (script
 *   calls per `XADD`: one `XADD` = one flush);
 * - reconnect → first replayed event, p50/p99 (a cursor in the middle of a finished generation);
 * - a follower's live lag, p50/p99 (paced events, the follower on another instance for Redis);
 * - memory per retained stream (Redis `used_memory`, memory store heap), 100 events each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';
import express from 'express';
import { createClient } from 'redis';
import type { Producer, SseOptions, SseWriter } from 'ssekit';
import { sendSse as sendExpress } from 'ssekit/express';
import { sendSse as sendNode } from 'ssekit/node';
import { fromNodeRedis, redisStore } from 'ssekit/redis';
import {
  createResumable,
  cursorFrom,
  memoryStore,
  type Resumable,
  type ResumeReply,
  type ResumeStore,
} from 'ssekit/resume';
import { startRedis } from '../test/helpers/redis-server.js';
import { type Reply, serveCalls, sleep, TOKEN } from './shared.js';

type Framework = 'express' | 'node';
type Mode = 'off' | 'memory' | 'redis';

const here = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const options: SseOptions = { heartbeat: false };

// ------------------------------------------------------------------------------- server child

/** A producer of `n` 5-byte tokens, awaiting each send (backpressure). */
const burst =
  (n: number): Producer =>
  async (writer: SseWriter) => {
    for (let i = 0; i < n && !writer.signal.aborted; i++) await writer.send(TOKEN);
  };

/** `n` events every `ms`, each carrying its send time (ms, sub-ms precision). */
const paced =
  (n: number, ms: number): Producer =>
  async (writer: SseWriter) => {
    for (let i = 0; i < n && !writer.signal.aborted; i++) {
      await writer.send(String(performance.timeOrigin + performance.now()));
      await sleep(ms);
    }
  };

async function serve(framework: Framework, mode: Mode, redisUrl: string): Promise<void> {
  let store: ResumeStore | undefined;
  if (mode === 'memory') store = memoryStore();
  if (mode === 'redis') {
    const client = createClient({ url: redisUrl });
    client.on('error', (error: unknown) => console.error('redis:', String(error)));
    await client.connect();
    store = redisStore({ client: fromNodeRedis(client) });
  }
  const resumable: Resumable | undefined =
    store === undefined ? undefined : createResumable({ store, continueForMs: 60_000 });
  let next = 0;

  /** One route's answer, as the framework would write it. */
  async function answer(
    req: IncomingMessage,
    res: ServerResponse,
    send: (producer: Producer) => Promise<void>,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://bench');
    const n = Number(url.searchParams.get('n') ?? 1000);
    const resume = /^\/s\/([^/]+)\/stream$/.exec(url.pathname);
    if (resume !== null) {
      if (resumable === undefined) return void res.writeHead(404).end();
      const reply = await resumable.resume(decodeURIComponent(resume[1] ?? ''), {
        cursor: cursorFrom(req.headers, req.url ?? '/'),
      });
      return write(res, reply, send);
    }
    const producer =
      url.pathname === '/paced' ? paced(n, Number(url.searchParams.get('ms') ?? 5)) : burst(n);
    if (resumable === undefined) return send(producer);
    const id = url.searchParams.get('id') ?? `b${String(process.pid)}-${String(next++)}`;
    return write(res, await resumable.start(id, producer), send);
  }

  async function write(
    res: ServerResponse,
    reply: ResumeReply,
    send: (producer: Producer) => Promise<void>,
  ): Promise<void> {
    for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
    if (reply.source === undefined) return void res.writeHead(reply.status).end();
    await send(reply.source);
  }

  const fail = (res: ServerResponse) => (error: unknown) => {
    console.error('bench server:', error);
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  };
  let server;
  if (framework === 'express') {
    const app = express();
    app.use((req, res) => {
      void answer(req, res, (producer) => sendExpress(res, producer, options)).catch(fail(res));
    });
    server = createServer(app);
  } else {
    server = createServer((req, res) => {
      void answer(req, res, (producer) => sendNode(res, producer, options)).catch(fail(res));
    });
  }
  server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () => {
    process.send?.({ ready: true, port: (server.address() as AddressInfo).port });
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  serveCalls({
    cpu: () => process.cpuUsage(),
    heap: () => {
      gc?.();
      gc?.();
      return process.memoryUsage().heapUsed;
    },
    /** `streams` finished generations of `events` tokens each, kept by the store. */
    fill: async (args: { streams: number; events: number; prefix: string }) => {
      if (resumable === undefined) return 0;
      for (let i = 0; i < args.streams; i++) {
        const reply = await resumable.start(`${args.prefix}${String(i)}`, burst(args.events));
        if (reply.source !== undefined) for await (const _event of reply.source) void _event;
      }
      return args.streams;
    },
  });
}

// ------------------------------------------------------------------------------- orchestrator

class Child {
  readonly process: ChildProcess;
  readonly ready: Promise<number>;
  private next = 0;
  private readonly pending = new Map<number, (reply: Reply) => void>();

  constructor(args: string[]) {
    this.process = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', ...args], {
      cwd: root,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolve, reject) => {
      this.process.once('exit', (code) => reject(new Error(`child exited ${String(code)}`)));
      this.process.on('message', (message: Reply | { ready: true; port: number }) => {
        if ('ready' in message) return resolve(message.port);
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      });
    });
    // An exit before `ready` fails whoever awaits it (servers); the client child has no port and
    // is never awaited, and its exit is reported by the calls that fail.
    this.ready.catch(() => undefined);
  }

  call<T>(cmd: string, args?: unknown, timeoutMs = 120_000): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} timed out`)), timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolve(reply.value as T);
        else reject(new Error(reply.error ?? `${cmd} failed`));
      });
      this.process.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    await exited;
  }
}

/** A client child that is not ready until it answers a call. */
function clientChild(): Child {
  const child = new Child(['bench/client.ts']);
  return child;
}

const median = (values: number[]): number => percentile(values, 50);
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        maximumFractionDigits: digits,
        minimumFractionDigits: digits,
      })
    : '–';

async function commandStats(redis: {
  info(section: string): Promise<string>;
}): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const stats = new Map<string, number>();
  for (const [, name, calls] of text.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    stats.set(name ?? '', Number(calls));
  }
  return stats;
}

/** A follower's lag: read paced events (their data is the send time), `now - sent` per event. */
async function followLag(url: string): Promise<number[]> {
  const lags: number[] = [];
  const response = await fetch(url);
  if (response.body === null) return lags;
  const parser = createParser({
    onEvent: (event) => {
      const sent = Number(event.data);
      if (Number.isFinite(sent)) lags.push(performance.timeOrigin + performance.now() - sent);
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
  return lags;
}

interface Row {
  framework: Framework;
  mode: Mode;
  eps1: number[];
  cpu1: number[];
  eps100: number[];
  cpu100: number[];
  reconnect: number[];
  lag: number[];
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const reps = quick ? 1 : 5;
  const n1 = quick ? 20_000 : 200_000;
  const n100 = quick ? 500 : 2_000;
  const started = Date.now();
  const load0 = loadavg();
  const redisServer = await startRedis();
  const redis = createClient({ url: redisServer.url });
  redis.on('error', () => {});
  await redis.connect();
  const client = clientChild();
  const rows: Row[] = [];
  const perCommand = new Map<
    string,
    { events: number; generations: number; stats: Map<string, number> }
  >();
  const memory: Record<string, number> = {};
  const roundTrips: Record<string, number[]> = {};
  try {
    const contenders: [Framework, Mode][] = [];
    for (const framework of ['express', 'node'] as const) {
      for (const mode of ['off', 'memory', 'redis'] as const) contenders.push([framework, mode]);
    }
    for (const [framework, mode] of contenders) {
      rows.push({
        framework,
        mode,
        eps1: [],
        cpu1: [],
        eps100: [],
        cpu100: [],
        reconnect: [],
        lag: [],
      });
    }
    // Interleaved repetitions: A B C … A B C …, so a shared machine's drift hits every contender.
    for (let rep = 0; rep < reps; rep++) {
      for (const row of rows) {
        const server = new Child([here, '--serve', row.framework, row.mode, redisServer.url]);
        const port = await server.ready;
        try {
          // Warm up, then 1 connection and 100 connections.
          await client.call('burst', {
            port,
            path: `/burst?n=${String(n1 / 10)}`,
            conns: 1,
            timeoutMs: 60_000,
          });
          await redis.sendCommand(['CONFIG', 'RESETSTAT']);
          for (const [conns, n, eps, cpu] of [
            [1, n1, row.eps1, row.cpu1],
            [100, n100, row.eps100, row.cpu100],
          ] as const) {
            const cpu0 = await server.call<NodeJS.CpuUsage>('cpu');
            const result = await client.call<{ elapsedMs: number; events: number }>('burst', {
              port,
              path: `/burst?n=${String(n)}`,
              conns,
              timeoutMs: 120_000,
            });
            const cpu1 = await server.call<NodeJS.CpuUsage>('cpu');
            if (result.events < conns * n) {
              throw new Error(
                `${row.framework}/${row.mode}: ${String(result.events)} events of ${String(conns * n)}`,
              );
            }
            eps.push(result.events / (result.elapsedMs / 1000));
            cpu.push((cpu1.user - cpu0.user + cpu1.system - cpu0.system) / result.events);
          }
          if (row.mode === 'redis' && rep === 0) {
            perCommand.set(row.framework, {
              events: n1 + 100 * n100,
              generations: 1 + 100,
              stats: await commandStats(redis),
            });
          }
          if (row.mode !== 'off') {
            // Reconnect → first replayed event: a cursor in the middle of a finished generation,
            // on another instance for Redis (the same one for the memory store: one process).
            const other =
              row.mode === 'redis'
                ? new Child([here, '--serve', row.framework, row.mode, redisServer.url])
                : undefined;
            const otherPort = other === undefined ? port : await other.ready;
            try {
              const id = `r-${row.framework}-${String(rep)}`;
              const head = await fetch(`http://127.0.0.1:${String(port)}/burst?n=1000&id=${id}`);
              await head.text();
              const gen = (head.headers.get('ssekit-cursor') ?? '').split('.')[0] ?? '';
              const timing = await client.call<{ firstEventMs: number[] }>('latency', {
                port: otherPort,
                path: `/s/${id}/stream?cursor=${gen}.500`,
                count: quick ? 50 : 200,
                timeoutMs: 10_000,
              });
              row.reconnect.push(...timing.firstEventMs);
              // A follower's live lag: 200 events 5 ms apart.
              const lagId = `l-${row.framework}-${String(rep)}`;
              const producing = fetch(
                `http://127.0.0.1:${String(port)}/paced?n=200&ms=5&id=${lagId}`,
              );
              const original = await producing;
              const lags = followLag(`http://127.0.0.1:${String(otherPort)}/s/${lagId}/stream`);
              await original.text();
              row.lag.push(...(await lags).slice(5)); // the first few are history, not live
            } finally {
              await other?.stop();
            }
          }
          if (row.mode !== 'off' && rep === 0 && row.framework === 'node') {
            const streams = quick ? 100 : 500;
            if (row.mode === 'redis') {
              const before = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
              await server.call('fill', { streams, events: 100, prefix: 'm' }, 300_000);
              const after = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1]);
              memory['redis'] = (after - before) / streams;
            } else {
              const before = await server.call<number>('heap');
              await server.call('fill', { streams, events: 100, prefix: 'm' }, 300_000);
              const after = await server.call<number>('heap');
              memory['memory'] = (after - before) / streams;
            }
          }
        } finally {
          await server.stop();
        }
      }
    }
    // What one write-ahead append costs here, alone: a PING, and appends of 1 and of 500 events.
    const store = redisStore({ client: fromNodeRedis(redis) });
    await store.create('rt', { gen: 'rt', ifRunning: 'replace' });
    let seq = 0;
    for (const [name, run] of [
      ['PING', () => redis.sendCommand(['PING'])],
      ['append, 1 event', () => store.append('rt', 'rt', [{ seq: ++seq, data: TOKEN }])],
      [
        'append, 500 events',
        () =>
          store.append(
            'rt',
            'rt',
            Array.from({ length: 500 }, () => ({ seq: ++seq, data: TOKEN })),
          ),
      ],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < 500; i++) {
        const t0 = performance.now();
        await run();
        times.push(performance.now() - t0);
      }
      roundTrips[name] = times;
    }
    await store.close();
  } finally {
    await client.stop();
    redis.destroy();
    await redisServer.close();
  }

  // ----------------------------------------------------------------------------- report
  const lines: string[] = [];
  const out = (line = ''): void => void lines.push(line);
  out('## Resumable streams: resume off vs memory store vs Redis store');
  out();
  out(
    `Generated by \`node --import tsx bench/resume-redis.ts${quick ? ' --quick' : ''}\` on ${new Date().toISOString()}, in ${fmt((Date.now() - started) / 1000)} s; ${String(reps)} interleaved repetition(s), median.`,
  );
  out();
  out(
    `- Machine: ${String(cpus().length)} cores, Node ${process.version}; load average at start ${load0.map((v) => v.toFixed(2)).join(' / ')}, at end ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' / ')}.`,
  );
  out(
    '- redis-server started by the bench on loopback (no persistence), node-redis v6 client; every server and the client in its own process. Producers send 5-byte tokens, awaiting each `send()`; the Redis store is write-ahead (an event is in Redis before its client sees it), one script call per coalesced flush.',
  );
  out();
  out(
    '| framework | store | events/s, 1 conn | × off | CPU µs/event | events/s, 100 conns | × off | CPU µs/event | reconnect → first replayed event p50 / p99 | follower live lag p50 / p99 |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of rows) {
    const off = rows.find((r) => r.framework === row.framework && r.mode === 'off') as Row;
    const ratio = (a: number[], b: number[]): string => `${fmt(median(a) / median(b), 2)}×`;
    out(
      `| ${row.framework} | ${row.mode} | ${fmt(median(row.eps1))} | ${ratio(row.eps1, off.eps1)} | ${fmt(median(row.cpu1), 2)} | ${fmt(median(row.eps100))} | ${ratio(row.eps100, off.eps100)} | ${fmt(median(row.cpu100), 2)} | ${row.mode === 'off' ? '–' : `${fmt(percentile(row.reconnect, 50), 2)} / ${fmt(percentile(row.reconnect, 99), 2)} ms`} | ${row.mode === 'off' ? '–' : `${fmt(percentile(row.lag, 50), 2)} / ${fmt(percentile(row.lag, 99), 2)} ms`} |`,
    );
  }
  out();
  const target = (name: string, measured: string, met: boolean): void =>
    out(`| ${name} | ${measured} | ${met ? 'yes' : '**no**'} |`);
  out('| target (issue 9) | measured | met |');
  out('| --- | --- | --- |');
  for (const framework of ['express', 'node'] as const) {
    const of = (mode: Mode): Row =>
      rows.find((r) => r.framework === framework && r.mode === mode) as Row;
    const redisRatio = median(of('redis').eps1) / median(of('off').eps1);
    const memoryRatio = median(of('memory').eps1) / median(of('off').eps1);
    target(
      `${framework}: Redis store ≥ 0.5× resume off (1 conn)`,
      `${fmt(redisRatio, 2)}× (memory store ${fmt(memoryRatio, 2)}×; Redis / memory ${fmt(redisRatio / memoryRatio, 2)}×)`,
      redisRatio >= 0.5,
    );
    target(
      `${framework}: memory store ≥ 0.8× resume off (1 conn)`,
      `${fmt(memoryRatio, 2)}×`,
      memoryRatio >= 0.8,
    );
    const p50 = percentile(of('redis').reconnect, 50);
    target(
      `${framework}: Redis reconnect → first replayed event p50 ≤ 5 ms`,
      `${fmt(p50, 2)} ms`,
      p50 <= 5,
    );
  }
  out();
  out(
    'Reconnect: sequential GETs with `?cursor=<gen>.500` of a finished 1,000-event generation, time from the request to its first data event (raw-HTTP client), on a second server process for Redis, the same process for memory. Lag: 200 events 5 ms apart, each carrying its send time; a follower (on the other instance for Redis) reads them live.',
  );
  out();
  out(
    'Redis commands per 1,000 events (the 1- and 100-connection runs of the first repetition, `INFO commandstats`; commands called from the store’s scripts count too):',
  );
  out();
  out(
    '| framework | events (generations) | commands / 1,000 events | round trips / 1,000 events | flushes / 1,000 events | events per flush | round trips per flush | by command / 1,000 events |',
  );
  out('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const flushRows: [string, number][] = [];
  for (const [framework, { events, generations, stats }] of perCommand) {
    const own = [...stats].filter(([name]) => !['config|resetstat', 'info'].includes(name));
    const total = own.reduce((sum, [, calls]) => sum + calls, 0);
    const scripts = (stats.get('evalsha') ?? 0) + (stats.get('eval') ?? 0);
    // Each generation costs one create and one finalize script (its terminal entry is an XADD
    // too); what is left are the appends (one XADD each) and the lease renewals.
    const flushes = (stats.get('xadd') ?? 0) - generations;
    const perFlush = (scripts - 2 * generations) / Math.max(1, flushes);
    const per1000 = (calls: number): string => fmt((calls / events) * 1000, 1);
    const by = own
      .sort((x, y) => y[1] - x[1])
      .map(([name, calls]) => `${name} ${per1000(calls)}`)
      .join(', ');
    flushRows.push([framework, perFlush]);
    out(
      `| ${framework} | ${fmt(events)} (${fmt(generations)}) | ${per1000(total)} | ${per1000(scripts)} | ${per1000(flushes)} | ${fmt(events / Math.max(1, flushes))} | ${fmt(perFlush, 2)} | ${by} |`,
    );
  }
  out();
  out('| target (issue 9) | measured | met |');
  out('| --- | --- | --- |');
  for (const [framework, perFlush] of flushRows) {
    target(
      `${framework}: Redis store ≤ 1 round trip per flush`,
      `${fmt(perFlush, 2)} (renewals included)`,
      perFlush <= 1.05,
    );
  }
  out();
  out(
    'Round trips are the script calls (`EVALSHA`); the commands a script runs (`HMGET`, `HSET`, `PEXPIRE`, `XADD`, …) are counted by Redis but share its round trip. Round trips per flush leave out the one create and one finalize of each generation; above 1.00 are lease renewals (every leaseMs / 3).',
  );
  out();
  out(
    `One write-ahead round trip, alone, from the bench process (500 sequential calls, p50 / p99): ${Object.entries(
      roundTrips,
    )
      .map(
        ([name, times]) =>
          `${name} ${fmt(percentile(times, 50), 3)} / ${fmt(percentile(times, 99), 3)} ms`,
      )
      .join('; ')}.`,
  );
  out();
  out(
    `Memory per retained stream (finished generations of 100 five-byte events, ssekit/node): Redis store ${fmt((memory['redis'] ?? NaN) / 1024, 1)} KiB of Redis \`used_memory\`; memory store ${fmt((memory['memory'] ?? NaN) / 1024, 1)} KiB of server heap.`,
  );
  const report = lines.join('\n');
  console.log(report);
  if (process.argv.includes('--write')) {
    const path = `${root}bench/RESULTS.md`;
    const text = readFileSync(path, 'utf8');
    const start = text.indexOf(lines[0] as string);
    const section = `${report}\n`;
    let updated: string;
    if (start === -1) updated = `${text.trimEnd()}\n\n${section}`;
    else {
      const end = text.indexOf('\n## ', start + 1);
      updated = text.slice(0, start) + section + (end === -1 ? '' : text.slice(end + 1));
    }
    writeFileSync(path, updated);
  }
}

if (process.argv[2] === '--serve') {
  const [, , , framework = 'node', mode = 'off', redisUrl = ''] = process.argv;
  await serve(framework as Framework, mode as Mode, redisUrl);
} else {
  await main();
}
