/**
 * The benchmark orchestrator: `npm run bench` (quick, under a minute) or `npm run bench:full`.
 *
 * Servers and clients are separate child processes (servers with `--expose-gc`), talking to this
 * process over IPC. Every scenario runs its contenders interleaved (A B C A B C …) for several
 * repetitions and reports the median, the min–max and the ratio to the baseline, plain
 * `node:http` writing pre-built frames and awaiting `drain`. Writes `bench/RESULTS.md`.
 *
 * Options: `--quick` | `--full`, `--only=format,throughput,latency,idle,slow`,
 * `--contenders=<name>,<name>` (names as in the tables), `--out=<file>`, and for A/B runs of a
 * change to the core `--before=<dir>`: a copy of `src/` and `adapters/` as they were, run as
 * extra contenders `<name> (before)` interleaved with the current code. `--cpu-prof` runs the
 * servers under `node --cpu-prof` and leaves their profiles in `bench/profiles/`.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { contenders as allContenders, type Contender } from './contenders.js';
import { JSON_BYTES, runFormatBench } from './format.js';
import {
  cacheDir,
  cell,
  check,
  Child,
  CLIENT_CONNECTIONS,
  compile,
  fixed,
  log,
  median,
  type Memory,
  type Cpu,
  rate,
  ratio,
  root,
  Samples,
  sections,
  sleep,
  stopAll,
  table,
  targets,
  killAll,
} from './harness.js';
import type { ServerConfig } from './shared.js';

// ---------------------------------------------------------------- settings

const argv = process.argv.slice(2);
const option = (name: string): string | undefined =>
  argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const full = argv.includes('--full');

const settings = full
  ? {
      mode: 'full',
      repetitions: 3,
      formatRepetitions: 60,
      formatIterations: { token: 200_000, json: 20_000 },
      oneConnEvents: 1_000_000,
      manyConns: 100,
      manyConnEvents: 20_000,
      warmupEvents: 100_000,
      latencyRequests: 30,
      delayMs: 10,
      idleSizes: [2_000, 10_000],
      // 5 s, not ssekit's 15 s default, so each idle window sees heartbeats; 1 s made the 80,000
      // connections of the 10,000 step (all contenders at once) time out while opening.
      heartbeatMs: 5_000,
      idleMs: 6_000,
      slowOffered: 50 * 1024 * 1024,
      slowMs: 8_000,
      burstTimeoutMs: 120_000,
    }
  : {
      mode: 'quick',
      repetitions: 3,
      formatRepetitions: 15,
      formatIterations: { token: 100_000, json: 10_000 },
      oneConnEvents: 50_000,
      manyConns: 100,
      manyConnEvents: 500,
      warmupEvents: 10_000,
      latencyRequests: 10,
      delayMs: 10,
      idleSizes: [500],
      heartbeatMs: 250,
      idleMs: 600,
      slowOffered: 50 * 1024 * 1024,
      slowMs: 1_500,
      burstTimeoutMs: 60_000,
    };

// `--reps=N` and `--idle=N,N` override the mode's repetitions and idle sizes (for experiments).
if (option('reps') !== undefined) settings.repetitions = Number(option('reps'));
if (option('idle') !== undefined)
  settings.idleSizes = (option('idle') ?? '').split(',').map(Number);

const scenarios = new Set(
  (option('only') ?? 'format,throughput,latency,idle,slow').split(',').filter(Boolean),
);
const wanted = option('contenders')?.split(',');
const before = option('before');

/** A contender as run here: which server script runs which contender under which name. */
interface Entry {
  readonly name: string;
  readonly baseline: boolean;
  readonly idleOnly: boolean;
  readonly serverName: string;
  readonly script: string;
}
const skipped = allContenders.filter((contender) => !contender.available()).map((c) => c.name);
const out = option('out') ?? fileURLToPath(new URL('RESULTS.md', import.meta.url));

const compiled = cacheDir('ssekit-bench');
const compiledBefore = cacheDir('ssekit-bench-before');
const serverScript = join(compiled, 'bench/server.js');
const clientScript = join(compiled, 'bench/client.js');

const contenders: Entry[] = allContenders
  .filter(
    (contender) =>
      contender.available() &&
      (wanted === undefined || contender.baseline === true || wanted.includes(contender.name)),
  )
  .flatMap((contender) => {
    const entry = {
      name: contender.name,
      baseline: contender.baseline === true,
      idleOnly: contender.idleOnly === true,
      serverName: contender.name,
      script: serverScript,
    };
    if (before === undefined || !contender.name.startsWith('ssekit')) return [entry];
    const old = join(compiledBefore, 'bench/server.js');
    return [entry, { ...entry, name: `${contender.name} (before)`, script: old }];
  });

/** The contenders that stream (all but the idle-only naive ones): throughput, latency, slow. */
const streamers = contenders.filter((contender) => !contender.idleOnly);

interface Server {
  contender: Entry;
  child: Child;
  port: number;
}

const cpuOf = async (server: Server): Promise<number> => {
  const { user, system } = await server.child.call<Cpu>('cpu');
  return user + system;
};

async function startServers(list: readonly Entry[], needFiles = 0): Promise<Server[]> {
  const config: ServerConfig = { heartbeat: settings.heartbeatMs };
  const children = list.map(
    (contender) =>
      new Child(
        contender.script,
        [contender.serverName, JSON.stringify(config)],
        needFiles,
        contender.name,
      ),
  );
  const ports = await Promise.all(children.map((child) => child.ready));
  return list.map((contender, i) => ({
    contender,
    child: children[i] as Child,
    port: ports[i] as number,
  }));
}

async function startClient(needFiles = 0): Promise<Child> {
  const child = new Child(clientScript, [], needFiles, 'client');
  // The client has no port: it is ready when it answers.
  await child.call('heldStats', undefined, 60_000);
  return child;
}

// ---------------------------------------------------------------- scenarios

async function formatScenario(): Promise<void> {
  log('formatter');
  const previous =
    before === undefined
      ? undefined
      : (
          (await import(pathToFileURL(join(before, 'src/format.ts')).href)) as {
            formatEvent: (data: unknown) => string;
          }
        ).formatEvent;
  const results = runFormatBench(settings.formatRepetitions, settings.formatIterations, previous);
  const rows: string[][] = [];
  for (const payload of ['token', 'json']) {
    for (const result of results.filter((r) => r.payload === payload)) {
      const [mid, range] = cell(result.samples, fixed(1));
      const [ratioMid, ratioRange] = cell(result.ratios, fixed(2, '×'));
      rows.push([
        payload === 'token' ? '5-byte token' : `${String(JSON_BYTES)}-byte JSON object`,
        result.name,
        mid,
        range,
        ratioMid,
        ratioRange,
      ]);
      if (result.name === 'formatEvent') {
        check(
          `formatEvent ≤ 1.5× template literal (${payload})`,
          median(result.ratios),
          1.5,
          false,
          fixed(2, '×'),
        );
      }
    }
  }
  sections.push(
    `## Formatter cost per event\n\n${String(settings.formatRepetitions)} interleaved rounds of ` +
      `${settings.formatIterations.token.toLocaleString('en')} (token) or ` +
      `${settings.formatIterations.json.toLocaleString('en')} (JSON) calls per case, in process; ` +
      'ns/event, and the ratio to the template literal taken within each round (the load of a ' +
      'shared machine drifts between rounds), median and min–max over the rounds.\n\n' +
      table(['payload', 'formatter', 'ns/event', 'min–max', '× template literal', 'min–max'], rows),
  );
}

interface BurstResult {
  elapsedMs: number;
  events: number;
  bytes: number;
  reads: number;
  chunks: number;
  clientCpuUs: number;
}

async function throughputAndLatency(): Promise<void> {
  const servers = await startServers(streamers);
  const client = await startClient();
  try {
    const burst = async (server: Server, conns: number, n: number): Promise<BurstResult> => {
      const result = await client.call<BurstResult>(
        'burst',
        {
          port: server.port,
          path: `/burst?n=${String(n)}`,
          conns,
          timeoutMs: settings.burstTimeoutMs,
        },
        settings.burstTimeoutMs + 5_000,
      );
      if (result.events < conns * n) {
        throw new Error(`received ${String(result.events)} of ${String(conns * n)} events`);
      }
      return result;
    };
    const latency = (server: Server, count: number, route = 'delay') =>
      client.call<{ headersMs: number[]; firstEventMs: number[] }>(
        'latency',
        {
          port: server.port,
          path: `/${route}?ms=${String(settings.delayMs)}`,
          count,
          timeoutMs: 10_000,
        },
        60_000,
      );

    log('warm-up');
    for (const server of servers) {
      try {
        await burst(server, 1, settings.warmupEvents);
        await burst(server, 10, settings.warmupEvents / 10);
        await latency(server, 3);
      } catch (error) {
        log(`warm-up of ${server.contender.name} failed:`, (error as Error).message);
      }
    }

    const runs = [
      { key: 'one', conns: 1, n: settings.oneConnEvents },
      { key: 'many', conns: settings.manyConns, n: settings.manyConnEvents },
    ];
    const samples = new Samples();
    for (let rep = 0; rep < settings.repetitions; rep++) {
      if (scenarios.has('throughput')) {
        for (const run of runs) {
          log(`throughput ${String(run.conns)}×${String(run.n)} rep ${String(rep + 1)}`);
          for (const server of servers) {
            const name = server.contender.name;
            try {
              const cpu0 = await cpuOf(server);
              const result = await burst(server, run.conns, run.n);
              const cpu1 = await cpuOf(server);
              const events = run.conns * run.n;
              samples.add(`${run.key}/${name}/rate`, events / (result.elapsedMs / 1000));
              samples.add(`${run.key}/${name}/cpu`, (cpu1 - cpu0) / events);
              samples.add(`${run.key}/${name}/client`, result.clientCpuUs / events);
              samples.add(`${run.key}/${name}/perChunk`, events / result.chunks);
              samples.add(`${run.key}/${name}/perRead`, events / result.reads);
            } catch (error) {
              samples.fail(`${run.key}/${name}`, error);
            }
          }
        }
      }
      if (scenarios.has('latency')) {
        log(`latency rep ${String(rep + 1)}`);
        for (const server of servers) {
          const name = server.contender.name;
          const routes = name.startsWith('ssekit') ? ['delay', 'open', 'source'] : ['delay'];
          for (const route of routes) {
            const suffix = route === 'open' ? OPEN : route === 'source' ? SOURCE : '';
            const key = `latency/${name}${suffix}`;
            try {
              const result = await latency(server, settings.latencyRequests, route);
              samples.add(`${key}/headers`, median(result.headersMs));
              samples.add(`${key}/event`, median(result.firstEventMs));
            } catch (error) {
              samples.fail(key, error);
            }
          }
        }
      }
    }

    if (scenarios.has('throughput')) throughputTables(samples, runs);
    if (scenarios.has('latency')) latencyTable(samples);
  } finally {
    await stopAll([client, ...servers.map((server) => server.child)]);
  }
}

const baselineName = (): string =>
  (allContenders.find((contender) => contender.baseline) as Contender).name;

function throughputTables(
  samples: Samples,
  runs: { key: string; conns: number; n: number }[],
): void {
  const base = baselineName();
  for (const run of runs) {
    const baseRate = samples.median(`${run.key}/${base}/rate`);
    const baseCpu = samples.median(`${run.key}/${base}/cpu`);
    const rows = streamers.map((contender) => {
      const name = contender.name;
      const failure = samples.failure(`${run.key}/${name}`);
      const rates = samples.get(`${run.key}/${name}/rate`);
      const cpu = samples.get(`${run.key}/${name}/cpu`);
      const [rateMid, rateRange] = cell(rates, rate);
      const [cpuMid, cpuRange] = cell(cpu, fixed(2));
      return [
        name + (failure ? ` (failed: ${failure})` : ''),
        rateMid,
        rateRange,
        ratio(median(rates), baseRate),
        cpuMid,
        cpuRange,
        ratio(median(cpu), baseCpu),
        fixed(2)(samples.median(`${run.key}/${name}/client`)),
        fixed(1)(samples.median(`${run.key}/${name}/perChunk`)),
        fixed(0)(samples.median(`${run.key}/${name}/perRead`)),
      ];
    });
    const label = `${String(run.conns)} connection${run.conns === 1 ? '' : 's'} × ${run.n.toLocaleString('en')} events`;
    sections.push(
      `## Throughput: ${label}\n\n5-byte token events; events/s as the client counts them (\`\\n\\n\`), ` +
        `server CPU (user + system) per event from the server process.\n\n` +
        table(
          [
            'contender',
            'events/s',
            'min–max',
            '× baseline',
            'server CPU µs/event',
            'min–max',
            '× baseline',
            'client CPU µs/event',
            'events/HTTP chunk',
            'events/read',
          ],
          rows,
        ),
    );
    const rateOf = (name: string): number => samples.median(`${run.key}/${name}/rate`) / baseRate;
    const cpuOfName = (name: string): number => samples.median(`${run.key}/${name}/cpu`) / baseCpu;
    const where = `${String(run.conns)} conn`;
    const tuned = 'node:http hand-tuned';
    const tunedRate = samples.median(`${run.key}/${tuned}/rate`);
    const tunedCpu = samples.median(`${run.key}/${tuned}/cpu`);
    for (const name of ['ssekit/node', 'ssekit/express', 'ssekit/fastify']) {
      if (!streamers.some((c) => c.name === name)) continue;
      // Issue 12's bar: the hand-tuned limit, not the one-write-per-frame baseline.
      if (streamers.some((c) => c.name === tuned)) {
        check(
          `${name} events/s ≥ 0.9× hand-tuned (${where})`,
          samples.median(`${run.key}/${name}/rate`) / tunedRate,
          0.9,
          true,
          fixed(2, '×'),
        );
        check(
          `${name} CPU/event ≤ 1.15× hand-tuned (${where})`,
          samples.median(`${run.key}/${name}/cpu`) / tunedCpu,
          1.15,
          false,
          fixed(2, '×'),
        );
      }
      check(`${name} events/s ≥ 0.9× baseline (${where})`, rateOf(name), 0.9, true, fixed(2, '×'));
      check(
        `${name} CPU/event ≤ 1.15× baseline (${where})`,
        cpuOfName(name),
        1.15,
        false,
        fixed(2, '×'),
      );
    }
    if (streamers.some((c) => c.name === 'ssekit/koa')) {
      check(
        `ssekit/koa events/s ≥ 0.8× baseline (${where})`,
        rateOf('ssekit/koa'),
        0.8,
        true,
        fixed(2, '×'),
      );
    }
    if (streamers.some((c) => c.name === 'ssekit/hono')) {
      const hono = samples.median(`${run.key}/hono streamSSE/rate`);
      check(
        `ssekit/hono events/s ≥ 2× hono streamSSE (${where})`,
        samples.median(`${run.key}/ssekit/hono/rate`) / hono,
        2,
        true,
        fixed(2, '×'),
      );
    }
  }
}

/** The suffix of the latency rows for ssekit endpoints with `open: true`. */
const OPEN = ', open: true';
/** The suffix of the latency rows for ssekit endpoints whose handler returns a source. */
const SOURCE = ', returns a source';

function latencyTable(samples: Samples): void {
  const base = baselineName();
  const baseHeaders = samples.median(`latency/${base}/headers`);
  const baseEvent = samples.median(`latency/${base}/event`);
  const names = streamers.flatMap((contender) =>
    contender.name.startsWith('ssekit')
      ? [contender.name, contender.name + OPEN, contender.name + SOURCE]
      : [contender.name],
  );
  const rows = names.map((name) => {
    const failure = samples.failure(`latency/${name}`);
    const headers = samples.get(`latency/${name}/headers`);
    const event = samples.get(`latency/${name}/event`);
    return [
      name + (failure ? ` (failed: ${failure})` : ''),
      ...cell(headers, fixed(2)),
      ratio(median(headers), baseHeaders),
      ...cell(event, fixed(2)),
      ratio(median(event), baseEvent),
    ];
  });
  sections.push(
    `## Time to headers and to first event\n\nThe producer waits ${String(settings.delayMs)} ms ` +
      `before its first token; times in ms from the request being written, the median of ` +
      `${String(settings.latencyRequests)} sequential requests per repetition. ` +
      'The baseline flushes its headers before waiting. ssekit commits the response when the ' +
      'handler returns a source (an SDK stream, an async generator), so a source that awaits its ' +
      'first token has its headers out at once (`, returns a source`); a push handler that awaits ' +
      'before its first `send()` has them go with that first frame (so a producer that fails ' +
      'before it can still get a 500), or at once with `open: true`.\n\n' +
      table(
        [
          'contender',
          'to headers',
          'min–max',
          '× baseline',
          'to first event',
          'min–max',
          '× baseline',
        ],
        rows,
      ),
  );
  for (const contender of streamers) {
    if (!contender.name.startsWith('ssekit')) continue;
    for (const [suffix, label] of [
      [SOURCE, 'handler returns a source'],
      [OPEN, 'push handler with `open: true`'],
      ['', 'push handler, default: headers with the first frame'],
    ] as const) {
      check(
        `${contender.name} time to headers ≤ 1.3× baseline (${label})`,
        samples.median(`latency/${contender.name}${suffix}/headers`) / baseHeaders,
        1.3,
        false,
        fixed(2, '×'),
      );
    }
  }
}

async function idleScenario(): Promise<void> {
  const samples = new Samples();
  const largest = Math.max(...settings.idleSizes);
  const poolSize = Math.ceil((largest * contenders.length) / CLIENT_CONNECTIONS);
  const clients: Child[] = [];
  const servers = await startServers(contenders, largest);
  try {
    for (let i = 0; i < poolSize; i++) clients.push(await startClient(CLIENT_CONNECTIONS));
    await idleRun(servers, clients, samples);
  } finally {
    await Promise.all(clients.map((client) => client.call('closeAll').catch(() => false)));
    await stopAll([...clients, ...servers.map((server) => server.child)]);
  }
  idleTables(samples);
}

/**
 * Every contender's server at once (each in its own process, so memory and CPU are its own);
 * connections opened up to each size in turn, then the repetitions: idle windows one after the
 * other, memory measured after a full GC at the end of each. Opening 10,000s of connections is
 * most of the cost, so the repetitions share one set of connections.
 */
async function idleRun(servers: Server[], clients: Child[], samples: Samples): Promise<void> {
  const open = (server: Server, index: number, client: Child, conns: number) => {
    const timeoutMs = 120_000 + 40 * conns * clients.length;
    return client.call(
      'open',
      {
        port: server.port,
        path: '/idle',
        conns,
        parallel: 50,
        timeoutMs,
        localAddress: `127.0.1.${String(index + 1)}`,
      },
      timeoutMs + 30_000,
    );
  };
  const heldOf = async (server: Server): Promise<number> => {
    const stats = await Promise.all(
      clients.map((client) =>
        client.call<{ events: number; open: number }>('heldStats', { port: server.port }),
      ),
    );
    return stats.reduce((sum, { events }) => sum + events, 0);
  };
  // Warm up every code path, then let the closes land before the reference measurement.
  const first = clients[0] as Child;
  await Promise.all(servers.map((server, i) => open(server, i, first, 20)));
  await Promise.all(clients.map((client) => client.call('closeAll')));
  await sleep(300);
  const before = await Promise.all(
    servers.map((server) => server.child.call<Memory>('mem', { gc: true })),
  );
  const failed = new Set<string>();
  let opened = 0;
  for (const size of settings.idleSizes) {
    const more = size - opened;
    await Promise.all(
      servers.map(async (server, i) => {
        if (failed.has(server.contender.name)) return;
        try {
          const share = Math.ceil(more / clients.length);
          await Promise.all(
            clients.map((client, c) =>
              open(server, i, client, Math.max(0, Math.min(share, more - c * share))),
            ),
          );
        } catch (error) {
          failed.add(server.contender.name);
          samples.fail(`${String(size)}/${server.contender.name}`, error);
        }
      }),
    );
    opened = size;
    for (let rep = 0; rep < settings.repetitions; rep++) {
      log(`idle ${String(size)}: window ${String(rep + 1)}`);
      const frames0 = await Promise.all(servers.map(heldOf));
      const cpu0 = await Promise.all(servers.map(cpuOf));
      await sleep(settings.idleMs);
      const cpu1 = await Promise.all(servers.map(cpuOf));
      const frames1 = await Promise.all(servers.map(heldOf));
      const after = await Promise.all(
        servers.map((server) => server.child.call<Memory>('mem', { gc: true })),
      );
      servers.forEach((server, i) => {
        const name = server.contender.name;
        if (failed.has(name)) return;
        const key = `${String(size)}/${name}`;
        const m0 = before[i] as Memory;
        const m1 = after[i] as Memory;
        samples.add(`${key}/rss`, (m1.rss - m0.rss) / size / 1024);
        samples.add(`${key}/heap`, (m1.heapUsed - m0.heapUsed) / size / 1024);
        samples.add(`${key}/beats`, ((frames1[i] as number) - (frames0[i] as number)) / size);
        samples.add(
          `${key}/cpu`,
          ((cpu1[i] as number) - (cpu0[i] as number)) / size / (settings.idleMs / 1000),
        );
      });
    }
  }
}

function idleTables(samples: Samples): void {
  const base = baselineName();
  for (const size of settings.idleSizes) {
    const baseRss = samples.median(`${String(size)}/${base}/rss`);
    const baseHeap = samples.median(`${String(size)}/${base}/heap`);
    const rows = contenders.map((contender) => {
      const key = `${String(size)}/${contender.name}`;
      const failure = samples.failure(key);
      const rss = samples.get(`${key}/rss`);
      const heap = samples.get(`${key}/heap`);
      return [
        contender.name + (failure ? ` (failed: ${failure})` : ''),
        ...cell(rss, fixed(1)),
        ratio(median(rss), baseRss),
        ...cell(heap, fixed(1)),
        ratio(median(heap), baseHeap),
        fixed(1)(samples.median(`${key}/beats`)),
        fixed(2)(samples.median(`${key}/cpu`)),
      ];
    });
    sections.push(
      `## Idle: ${size.toLocaleString('en')} open connections\n\nOne event each, then ` +
        `idle windows of ${String(settings.idleMs)} ms with a heartbeat every ${String(settings.heartbeatMs)} ms; ` +
        'memory per connection after a full GC at the end of each window, against the same server ' +
        'before the connections (KB). All contenders run at once, each server in its own process; ' +
        'the sizes are reached in turn on the same servers, and the repetitions are consecutive ' +
        'windows on the same connections (opening them is most of the cost). Heartbeats/conn counts ' +
        'the frames each connection received during a window (about window ÷ interval when ' +
        'heartbeats are on).\n\n' +
        table(
          [
            'contender',
            'RSS KB/conn',
            'min–max',
            '× baseline',
            'heap KB/conn',
            'min–max',
            '× baseline',
            'heartbeats/conn',
            'idle CPU µs/conn/s',
          ],
          rows,
        ),
    );
    idlePairs(samples, size);
    for (const contender of contenders) {
      if (!contender.name.startsWith('ssekit')) continue;
      check(
        `${contender.name} idle RSS/conn ≤ 1.3× baseline (${size.toLocaleString('en')} conns)`,
        samples.median(`${String(size)}/${contender.name}/rss`) / baseRss,
        1.3,
        false,
        fixed(2, '×'),
      );
    }
  }
}

/** Each ssekit adapter beside the naive stream on the same framework (issue 12, item 5). */
const NAIVE: Record<string, string> = {
  'ssekit/node': 'node:http baseline',
  'ssekit/express': 'express res.write',
  'ssekit/koa': 'koa res.write',
  'ssekit/hono': 'hono outgoing.write',
  'ssekit/fastify': 'fastify raw.write',
};

/** ssekit's own cost per idle stream: its RSS and heap per connection less the naive one's. */
function idlePairs(samples: Samples, size: number): void {
  const rows: string[][] = [];
  for (const [name, naive] of Object.entries(NAIVE)) {
    if (!contenders.some((c) => c.name === name) || !contenders.some((c) => c.name === naive))
      continue;
    const of = (who: string, what: string): number =>
      samples.median(`${String(size)}/${who}/${what}`);
    const rss = of(name, 'rss') - of(naive, 'rss');
    const heap = of(name, 'heap') - of(naive, 'heap');
    rows.push([name, naive, fixed(2)(rss), fixed(2)(heap)]);
    const where = `${size.toLocaleString('en')} conns`;
    check(`${name} idle RSS over ${naive} ≤ 2 KB (${where})`, rss, 2, false, fixed(2, ' KB'));
    check(`${name} idle heap over ${naive} ≤ 2 KB (${where})`, heap, 2, false, fixed(2, ' KB'));
  }
  if (rows.length === 0) return;
  sections.push(
    `## Idle: ssekit's own cost per stream, ${size.toLocaleString('en')} open connections\n\n` +
      'Median RSS and heap per connection of each ssekit adapter less those of the naive stream ' +
      '(headers, one frame, a heartbeat `setInterval` with `res.write`) on the same framework, ' +
      'measured in the same windows (KB; negative: ssekit costs less).\n\n' +
      table(
        ['ssekit', 'naive, same framework', 'RSS KB/conn over naive', 'heap KB/conn over naive'],
        rows,
      ),
  );
}

async function slowScenario(): Promise<void> {
  const samples = new Samples();
  const tickMs = 250;
  for (let rep = 0; rep < settings.repetitions; rep++) {
    log(`slow consumer rep ${String(rep + 1)}`);
    const servers = await startServers(streamers);
    const client = await startClient();
    try {
      const before = await Promise.all(
        servers.map((server) => server.child.call<Memory>('mem', { gc: true })),
      );
      const peak = before.map((memory) => memory.rss);
      for (const server of servers) {
        await client.call('slow', {
          port: server.port,
          path: `/slow?bytes=${String(settings.slowOffered)}`,
          bytesPerTick: 1024 * (tickMs / 1000),
          tickMs,
        });
      }
      const deadline = Date.now() + settings.slowMs;
      while (Date.now() < deadline) {
        await sleep(tickMs);
        const now = await Promise.all(
          servers.map((server) => server.child.call<Memory>('mem', { gc: false })),
        );
        now.forEach((memory, i) => (peak[i] = Math.max(peak[i] as number, memory.rss)));
      }
      const offered = await Promise.all(
        servers.map((server) => server.child.call<{ offered: number }>('stats')),
      );
      const read = await client.call<number[]>('slowStats');
      servers.forEach((server, i) => {
        const key = `slow/${server.contender.name}`;
        samples.add(`${key}/rss`, ((peak[i] as number) - (before[i] as Memory).rss) / 1024 / 1024);
        samples.add(`${key}/offered`, (offered[i]?.offered ?? 0) / 1024 / 1024);
        samples.add(`${key}/read`, (read[i] ?? 0) / 1024);
      });
    } finally {
      await client.call('closeAll').catch(() => false);
      await stopAll([client, ...servers.map((server) => server.child)]);
    }
  }
  const rows = streamers.map((contender) => {
    const key = `slow/${contender.name}`;
    return [
      contender.name,
      ...cell(samples.get(`${key}/rss`), fixed(1)),
      fixed(1)(samples.median(`${key}/offered`)),
      fixed(0)(samples.median(`${key}/read`)),
    ];
  });
  sections.push(
    `## Slow consumer\n\nOne client reading 1 KB/s for ${String(settings.slowMs / 1000)} s while ` +
      `the producer offers ${String(settings.slowOffered / 1024 / 1024)} MB in 1 KB events; ` +
      'peak server RSS growth over the GC-ed RSS before the request, and how much the producer had ' +
      'offered by the end (a producer that honours backpressure is paused after the socket buffers ' +
      'fill).\n\n' +
      table(['contender', 'RSS growth MB', 'min–max', 'offered MB', 'client read KB'], rows),
  );
  for (const contender of streamers) {
    if (!contender.name.startsWith('ssekit')) continue;
    check(
      `${contender.name} slow-consumer RSS growth ≤ 5 MB`,
      samples.median(`slow/${contender.name}/rss`),
      5,
      false,
      fixed(1, ' MB'),
    );
  }
}

// ---------------------------------------------------------------- main

function header(startedAt: Date, seconds: number, loadBefore: number[]): string {
  const cpu = cpus();
  return [
    '# ssekit benchmark results',
    '',
    `Generated by \`npm run bench${full ? ':full' : ''}\` (${settings.mode} mode) on ${startedAt.toISOString()}, in ${seconds.toFixed(0)} s.`,
    '',
    `- Machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${String(cpu.length)} cores, ` +
      `${(totalmem() / 1024 ** 3).toFixed(0)} GB RAM, ${process.platform} ${process.arch}`,
    `- Node ${process.version}; load average at start ${loadBefore.map((x) => x.toFixed(2)).join(' / ')}, ` +
      `at end ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' / ')}`,
    `- Loopback only; every server and client in its own process; contenders interleaved ` +
      `(A B C A B C …), ${String(settings.repetitions)} repetitions; median, min–max and ratio to the baseline ` +
      `(plain node:http writing pre-built frames, awaiting \`drain\`).`,
    `- Servers and clients run the project's TypeScript compiled by \`tsc\` (\`transpileModule\`, ` +
      'as `npm run build` emits it), not through a loader.',
    ...(full
      ? []
      : [
          '- Quick mode: small counts, so the figures are indicative only (idle RSS per ' +
            'connection in particular is noisy at a few hundred connections); ' +
            '`npm run bench:full` makes the reference run.',
        ]),
    ...(skipped.length > 0 ? [`- Not run (adapter missing): ${skipped.join(', ')}`] : []),
  ].join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg();
  log(`${settings.mode} mode; contenders: ${contenders.map((c) => c.name).join(', ')}`);
  // `--no-compile` reuses the last compiled tree (for experiments on the compiled code).
  if (!argv.includes('--no-compile')) {
    compile(root, compiled);
    if (before !== undefined) compile(before, compiledBefore);
  }
  if (scenarios.has('format')) await formatScenario();
  if (scenarios.has('throughput') || scenarios.has('latency')) await throughputAndLatency();
  if (scenarios.has('idle')) await idleScenario();
  if (scenarios.has('slow')) await slowScenario();

  const seconds = (Date.now() - startedAt.getTime()) / 1000;
  const summary = table(
    ['target', 'measured', 'met'],
    targets.map(({ target, measured, met }) => [
      target,
      measured,
      met === undefined ? '–' : met ? 'yes' : '**no**',
    ]),
  );
  const text = [
    header(startedAt, seconds, loadBefore),
    `## Targets (issue 5)\n\n${summary}`,
    ...sections,
  ].join('\n\n');
  writeFileSync(out, text + '\n');
  console.log(text);
  log(`wrote ${out} in ${seconds.toFixed(0)} s`);
}

main().then(
  () => {
    killAll();
  },
  (error: unknown) => {
    console.error(error);
    killAll();
    process.exitCode = 1;
  },
);
