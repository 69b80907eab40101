/**
 * The soak benchmark: `npm run bench:soak` holds 10,000 concurrent streams for 10 minutes on one
 * server process (issue 12, item 7); `npm run bench` runs its short mode (1,000 streams × 20 s).
 *
 * Each stream sends one event per second (heartbeats at 15 s) carrying its sequence number and
 * its send time on the machine's monotonic clock; clients in their own processes (at most
 * {@link CLIENT_CONNECTIONS} streams each) check that every event sent arrived once and in order,
 * and take each event's delay (server send → client receive). The server reports its event-loop
 * delay (`monitorEventLoopDelay`) and its RSS and heap every few seconds; the slope after warm-up
 * (least squares, KB/min) says whether memory is flat.
 *
 * Options: `--short` (1,000 × 20 s), `--streams=N`, `--duration=S` (seconds), `--warmup=S`,
 * `--contender=<name>` (as in `bench/contenders.ts`: `ssekit/node` by default, `ssekit/express`,
 * `ssekit/koa`, `ssekit/hono`, `ssekit/fastify`, `node:http baseline`), `--write` (puts the row
 * into `bench/RESULTS.md` between the `soak:start`/`soak:end` markers, or `--out=<file>`),
 * `--no-compile` (reuses the last compiled tree).
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cacheDir,
  Child,
  CLIENT_CONNECTIONS,
  compile,
  type Cpu,
  fixed,
  killAll,
  log,
  type Memory,
  root,
  sleep,
  stopAll,
  table,
} from './harness.js';
import { monotonicMs, type ServerConfig } from './shared.js';

/** What one soak run does. */
export interface SoakOptions {
  /** The server, by its name in `bench/contenders.ts`. */
  contender: string;
  /** Concurrent streams. */
  streams: number;
  /** How long each stream lives, in seconds (one event per `everyMs`). */
  durationS: number;
  /** Milliseconds between two events of a stream. */
  everyMs: number;
  /** The heartbeat interval, in milliseconds. */
  heartbeatMs: number;
  /** Seconds after the last stream opened before the memory slope is taken. */
  warmupS: number;
  /** Seconds between two memory samples. */
  sampleS: number;
  /** The compiled tree (see `compile` in `harness.ts`) the children run. */
  compiled: string;
}

/** What one soak run measured. */
export interface SoakResult {
  contender: string;
  streams: number;
  durationS: number;
  /** Events per stream. */
  perStream: number;
  /** Events the server's producers sent. */
  sent: number;
  /** Events the clients received (all of them, duplicates included). */
  received: number;
  duplicates: number;
  outOfOrder: number;
  /** Sequence numbers that never arrived, over all streams. */
  missing: number;
  /** Streams that ended normally with status 200. */
  completed: number;
  heartbeatsPerStream: number;
  delayP50: number;
  delayP99: number;
  delayMax: number;
  loopP99: number;
  loopMax: number;
  /** Server CPU over the steady window, in % of one core. */
  cpuPercent: number;
  openS: number;
  windowS: number;
  rssStartMB: number;
  rssEndMB: number;
  rssSlope: number;
  heapSlope: number;
  /** Heap after a full GC at the end of the warm-up and at the end of the window, in MB. */
  heapGcStartMB: number;
  heapGcEndMB: number;
  samples: number;
  at: string;
}

interface Report {
  streams: number;
  ended: number;
  ok: number;
  received: number;
  distinct: number;
  duplicates: number;
  outOfOrder: number;
  missing: number;
  heartbeats: number;
  delays: [bucket: number, count: number][];
}

/** The least-squares slope of `y` over `x` (NaN with fewer than two points). */
export function slope(points: readonly (readonly [x: number, y: number])[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of points) {
    sx += x;
    sy += y;
  }
  const mx = sx / n;
  const my = sy / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** The `q` quantile (0–1) of a histogram of 0.1 ms buckets, in ms. */
function quantile(histogram: ReadonlyMap<number, number>, total: number, q: number): number {
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (const bucket of [...histogram.keys()].sort((a, b) => a - b)) {
    seen += histogram.get(bucket) as number;
    if (seen >= rank) return bucket / 10;
  }
  return NaN;
}

/** One soak run: starts the server and the clients, holds the streams, ends them all by PID. */
export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const { streams, everyMs } = options;
  const perStream = Math.ceil((options.durationS * 1000) / everyMs);
  const config: ServerConfig = { heartbeat: options.heartbeatMs };
  const server = new Child(
    join(options.compiled, 'bench/server.js'),
    [options.contender, JSON.stringify(config)],
    streams,
    options.contender,
  );
  const clients: Child[] = [];
  try {
    const port = await server.ready;
    const pool = Math.ceil(streams / CLIENT_CONNECTIONS);
    const share = Math.ceil(streams / pool);
    for (let i = 0; i < pool; i++) {
      const client = new Child(
        join(options.compiled, 'bench/client.js'),
        [],
        share,
        `client ${String(i)}`,
      );
      clients.push(client);
      await client.call('heldStats', undefined, 60_000);
    }
    const t0 = monotonicMs();
    const path = `/soak?n=${String(perStream)}&every=${String(everyMs)}&t0=${t0.toFixed(3)}`;
    const openBudgetMs = 120_000 + 40 * share;
    // Memory every few seconds until the streams end; bounded by time as well.
    const memory: [t: number, rss: number, heap: number][] = [];
    let sampling = true;
    const samplerEnd = t0 + openBudgetMs + options.durationS * 1000 + 120_000;
    const sampler = (async () => {
      while (sampling && monotonicMs() < samplerEnd) {
        const { rss, heapUsed } = await server.call<Memory>('mem', { gc: false });
        memory.push([(monotonicMs() - t0) / 1000, rss, heapUsed]);
        await sleep(options.sampleS * 1000);
      }
    })();
    log(`soak: opening ${String(streams)} streams to ${options.contender}`);
    await Promise.all(
      clients.map((client, i) => {
        const conns = Math.max(0, Math.min(share, streams - i * share));
        return client.call(
          'soakOpen',
          {
            port,
            path,
            conns,
            n: perStream,
            t0,
            parallel: 50,
            timeoutMs: openBudgetMs,
            localAddress: `127.0.1.${String(i + 1)}`,
          },
          openBudgetMs + 30_000,
        );
      }),
    );
    const openedAt = monotonicMs();
    log(`soak: ${String(streams)} open in ${((openedAt - t0) / 1000).toFixed(1)} s`);
    await server.call('loopReset');
    const cpu0 = await server.call<Cpu>('cpu');
    // The steady window ends with the first stream's last event (the first stream opened after t0).
    const steadyEnd = t0 + (perStream - 1) * everyMs;
    // A heap after GC at the end of the warm-up and at the end of the window: garbage not yet
    // collected makes the sampled heap climb, a leak makes this pair climb.
    const warmedAt = openedAt + options.warmupS * 1000;
    await sleep(Math.max(0, Math.min(warmedAt, steadyEnd) - monotonicMs()));
    const gcStart = await server.call<Memory>('mem', { gc: true }, 60_000);
    await sleep(Math.max(0, steadyEnd - monotonicMs()));
    const loop = await server.call<{ p50: number; p99: number; max: number }>('loopStats');
    const cpu1 = await server.call<Cpu>('cpu');
    const windowEnd = monotonicMs();
    const gcEnd = await server.call<Memory>('mem', { gc: true }, 60_000);
    log('soak: steady window over; waiting for the streams to end');
    const waitMs = openedAt - t0 + 2 * everyMs + 30_000;
    const reports = await Promise.all(
      clients.map((client) =>
        client.call<Report>('soakWait', { timeoutMs: waitMs }, waitMs + 30_000),
      ),
    );
    sampling = false;
    await sampler;
    const { sent } = await server.call<{ sent: number }>('stats');

    const histogram = new Map<number, number>();
    let total = 0;
    const sum = { received: 0, duplicates: 0, outOfOrder: 0, missing: 0, ok: 0, heartbeats: 0 };
    for (const report of reports) {
      sum.received += report.received;
      sum.duplicates += report.duplicates;
      sum.outOfOrder += report.outOfOrder;
      sum.missing += report.missing;
      sum.ok += Math.min(report.ok, report.ended);
      sum.heartbeats += report.heartbeats;
      for (const [bucket, count] of report.delays) {
        histogram.set(bucket, (histogram.get(bucket) ?? 0) + count);
        total += count;
      }
    }
    const from = (openedAt - t0) / 1000 + options.warmupS;
    const to = (windowEnd - t0) / 1000;
    const steady = memory.filter(([t]) => t >= from && t <= to);
    const perMinute = (bytesPerSecond: number): number => (bytesPerSecond * 60) / 1024;
    const cpuUs = cpu1.user + cpu1.system - cpu0.user - cpu0.system;
    return {
      contender: options.contender,
      streams,
      durationS: options.durationS,
      perStream,
      sent,
      received: sum.received,
      duplicates: sum.duplicates,
      outOfOrder: sum.outOfOrder,
      missing: sum.missing,
      completed: sum.ok,
      heartbeatsPerStream: sum.heartbeats / streams,
      delayP50: quantile(histogram, total, 0.5),
      delayP99: quantile(histogram, total, 0.99),
      delayMax: quantile(histogram, total, 1),
      loopP99: loop.p99,
      loopMax: loop.max,
      cpuPercent: cpuUs / 10 / (windowEnd - openedAt),
      openS: (openedAt - t0) / 1000,
      windowS: to - from,
      rssStartMB: (steady[0]?.[1] ?? NaN) / 1024 / 1024,
      rssEndMB: (steady.at(-1)?.[1] ?? NaN) / 1024 / 1024,
      rssSlope: perMinute(slope(steady.map(([t, rss]) => [t, rss]))),
      heapSlope: perMinute(slope(steady.map(([t, , heap]) => [t, heap]))),
      heapGcStartMB: gcStart.heapUsed / 1024 / 1024,
      heapGcEndMB: gcEnd.heapUsed / 1024 / 1024,
      samples: steady.length,
      at: new Date().toISOString().slice(0, 16).replace('T', ' '),
    };
  } finally {
    await stopAll([...clients, server]);
  }
}

const HEAD = [
  'contender',
  'streams × duration',
  'events sent',
  'received',
  'duplicates',
  'out of order',
  'missing',
  'streams completed',
  'delay p50 ms',
  'delay p99 ms',
  'loop delay p99 ms',
  'server CPU %',
  'RSS MB, window start → end',
  'RSS slope KB/min',
  'heap slope KB/min',
  'heap after GC MB, warm-up → end',
  'window',
  'run (UTC)',
];

/** One table row of a soak result. */
export function soakRow(result: SoakResult): string[] {
  const count = (value: number): string => value.toLocaleString('en');
  return [
    result.contender,
    `${count(result.streams)} × ${String(result.durationS)} s`,
    count(result.sent),
    count(result.received),
    count(result.duplicates),
    count(result.outOfOrder),
    count(result.missing),
    `${count(result.completed)} of ${count(result.streams)}`,
    fixed(1)(result.delayP50),
    fixed(1)(result.delayP99),
    fixed(1)(result.loopP99),
    fixed(0)(result.cpuPercent),
    `${fixed(0)(result.rssStartMB)} → ${fixed(0)(result.rssEndMB)}`,
    fixed(0)(result.rssSlope),
    fixed(0)(result.heapSlope),
    `${fixed(1)(result.heapGcStartMB)} → ${fixed(1)(result.heapGcEndMB)}`,
    `${fixed(0)(result.windowS)} s, ${String(result.samples)} samples`,
    result.at,
  ];
}

/** The soak section of `RESULTS.md`: a heading, what was measured, and one row per run. */
export function soakSection(rows: readonly string[][]): string {
  return (
    '## Soak: concurrent streams held on one server process (issue 12)\n\n' +
    'Each stream sends one event per second (heartbeats at 15 s, so a stream that sends every ' +
    'second gets none) for the duration, then ends; clients in their own processes (≤ 15,000 ' +
    'streams each) check every event by its sequence number: sent (counted by the server) = ' +
    'received, none duplicated, none out of order, none missing. Delay: server send → client ' +
    'receive on the machine’s monotonic clock. Loop delay: the server’s ' +
    '`monitorEventLoopDelay` p99 over the steady window (from all streams open to the first ' +
    'stream’s last event), beyond its 10 ms timer. RSS and heap sampled (no GC) every few ' +
    'seconds; the slope is a least-squares fit over the window after warm-up (a heap that has ' +
    'not been collected yet climbs too, so the heap after a full GC is taken at the end of the ' +
    'warm-up and of the window). Delays are counted in 0.1 ms steps (0.0: under 0.05 ms). ' +
    'Rows from ' +
    '`npm run bench:soak` (`--short`, `--streams=`, `--duration=`, `--write`); `npm run bench` ' +
    'runs 1,000 × 20 s, `bench:full` 10,000 × 600 s. A 20 s run is too short for the slope to mean ' +
    'much (memory still settles after the streams open); the 10-minute run is the one to read.\n\n' +
    table(HEAD, [...rows])
  );
}

const GC_COLUMN = HEAD.indexOf('heap after GC MB, warm-up → end');
const START = '<!-- soak:start -->';
const END = '<!-- soak:end -->';

/** Puts `result`'s row into the soak section of `file`, replacing a row of the same contender and size. */
export function writeSoak(file: string, result: SoakResult): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  const row = soakRow(result);
  const cells = (line: string): string[] =>
    line
      .slice(1, -1)
      .split('|')
      .map((cell) => cell.trim());
  const rows =
    start === -1 || end === -1
      ? []
      : text
          .slice(start, end)
          .split('\n')
          .filter((line) => line.startsWith('|'))
          .slice(2)
          .map(cells)
          // Rows written before the heap-after-GC column get a dash there.
          .map((old) =>
            old.length === HEAD.length - 1
              ? [...old.slice(0, GC_COLUMN), '–', ...old.slice(GC_COLUMN)]
              : old,
          )
          .filter((old) => old[0] !== row[0] || old[1] !== row[1]);
  rows.push(row);
  const size = (cellsOf: string[]): number => {
    const [streams = '0', seconds = '0'] = (cellsOf[1] ?? '').replace(/[, s]/g, '').split('×');
    return Number(streams) * 1e6 + Number(seconds);
  };
  rows.sort((a, b) => size(a) - size(b) || (a[0] ?? '').localeCompare(b[0] ?? ''));
  const block = `${START}\n\n${soakSection(rows)}\n\n${END}`;
  const next =
    start === -1 || end === -1
      ? `${text.trimEnd()}\n\n${block}\n`
      : text.slice(0, start) + block + text.slice(end + END.length);
  writeFileSync(file, next);
}

/**
 * The options of a soak run of `streams` × `durationS` with ssekit's pace (one event per second,
 * heartbeats at 15 s) and a warm-up and sampling step that fit the duration.
 */
export function soakOptions(
  contender: string,
  streams: number,
  durationS: number,
  compiled: string,
  warmupS = durationS >= 300 ? 60 : Math.min(30, durationS / 4),
): SoakOptions {
  return {
    contender,
    streams,
    durationS,
    everyMs: 1_000,
    heartbeatMs: 15_000,
    warmupS,
    sampleS: durationS >= 300 ? 5 : 1,
    compiled,
  };
}

/** Events lost, duplicated or out of order in a soak run: 0 is the only good answer. */
export function soakFaults(result: SoakResult): number {
  const lost = Math.abs(result.sent - (result.received - result.duplicates));
  return lost + result.missing + result.duplicates + result.outOfOrder;
}

/** `soakSection` with one row, between the markers `--write` looks for. */
export function soakBlock(result: SoakResult): string {
  return `${START}\n\n${soakSection([soakRow(result)])}\n\n${END}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const option = (name: string): string | undefined =>
    argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
  const short = argv.includes('--short');
  const number = (name: string, fallback: number): number => {
    const value = option(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new RangeError(`\`--${name}\`: ${value}`);
    return parsed;
  };
  const durationS = number('duration', short ? 20 : 600);
  const compiled = cacheDir('ssekit-soak');
  const defaults = soakOptions('', 1, durationS, compiled);
  const options = soakOptions(
    option('contender') ?? 'ssekit/node',
    number('streams', short ? 1_000 : 10_000),
    durationS,
    compiled,
    number('warmup', defaults.warmupS),
  );
  if (!argv.includes('--no-compile')) compile(root, compiled);
  log(
    `soak: load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}`,
  );
  const result = await runSoak(options);
  console.log(table(HEAD, [soakRow(result)]));
  console.error(JSON.stringify(result));
  if (argv.includes('--write')) {
    const file = option('out') ?? join(root, 'bench/RESULTS.md');
    writeSoak(file, result);
    log(`wrote the soak row into ${file}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().then(killAll, (error: unknown) => {
    console.error(error);
    killAll();
    process.exitCode = 1;
  });
}
