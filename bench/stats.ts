/**
 * What the lifecycle/stats hooks cost (issue 12, item 3): `node --import tsx bench/stats.ts`.
 *
 * Events per second through the engine, side by side, each contender in a fresh child process,
 * interleaved over several repetitions; each child keeps the best of 3 rounds (the most events/s,
 * the least CPU time per event, which other jobs on a shared machine disturb less), the table
 * shows the median over the repetitions:
 *
 * - `before`: `src/` at the commit before the hooks (`--before=<git rev>`, default `c83a12b`),
 *   exported with `git archive`;
 * - `after, unused`: the current `src/`, no `lifecycle`, no limits: what must cost nothing;
 * - `after, lifecycle`: the current `src/` with a `lifecycle` hook (stats counted per frame);
 * - `after, lifecycle + maxIdle`: and the idle limit, which reads the clock per event.
 *
 * Two scenarios: `engine` (`runStream` over a transport whose `write` returns true: the engine's
 * own per-event path, `--events=<n>` events, default 2,000,000) and `node` (one real loopback
 * connection answered by `streamToResponse`, a raw socket client reading as fast as it can,
 * `--node-events=<n>`, default 500,000; the drain registry's per-stream entry is in this path).
 * `--reps=<n>` (default 5). Compiled with `transpileModule` as `bench/memory.ts` does.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Core from '../src/index.js';
import type * as NodeEntry from '../src/node.js';
import { TOKEN } from './shared.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined =>
  argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const root = fileURLToPath(new URL('..', import.meta.url));
const cache = join(root, 'node_modules/.cache/ssekit-stats');

/** Measured rounds per child; the best is kept. */
const ROUNDS = 3;

type Variant = 'unused' | 'lifecycle' | 'lifecycle+idle';

interface Job {
  scenario: 'engine' | 'node';
  dir: string;
  variant: Variant;
  events: number;
}

interface Measure {
  eventsPerSecond: number;
  /** CPU time (user + system) of the process per event, in nanoseconds: less hit by other jobs. */
  cpuPerEvent: number;
  /** What the lifecycle hook counted, as a check that it ran. */
  counted: number;
}

async function compile(sources: string, outDir: string): Promise<void> {
  const { compileFiles, tsFiles } = await import('./compile.js');
  compileFiles(
    [
      ...tsFiles(sources, 'src'),
      [root, join('bench', 'stats.ts')],
      [root, join('bench', 'shared.ts')],
    ],
    outDir,
  );
}

function options(variant: Variant, counted: { n: number }): Core.StreamOptions {
  if (variant === 'unused') return { heartbeat: false };
  const lifecycle = { onEnd: (stats: { events: number }) => (counted.n += stats.events) };
  if (variant === 'lifecycle') return { heartbeat: false, lifecycle };
  return { heartbeat: false, lifecycle, maxIdle: 60_000 };
}

function producer(events: number) {
  return async (writer: Core.SseWriter): Promise<void> => {
    for (let i = 0; i < events; i++) await writer.send(TOKEN);
  };
}

/** CPU nanoseconds (user + system) used since `start`. */
function cpuNanos(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return (user + system) * 1000;
}

async function engine(job: Job): Promise<Measure> {
  const core = (await import(pathToFileURL(join(job.dir, 'src/index.js')).href)) as typeof Core;
  const counted = { n: 0 };
  // `before` knows no `lifecycle`: its options are ignored there (it is only run as `unused`).
  const config = core.resolveOptions(options(job.variant, counted));
  const transport: Core.SseTransport = {
    commit() {},
    write: () => true,
    waitForDrain: () => Promise.resolve(),
    close() {},
  };
  // Warm-up: code, shapes and feedback vectors.
  for (let i = 0; i < 5; i++) await core.runStream(transport, producer(200_000), config).done;
  // The best of ROUNDS: the machine is shared, and a round that another process preempted says
  // nothing about the code.
  let best = 0;
  let cpu = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    counted.n = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    await core.runStream(transport, producer(job.events), config).done;
    cpu = Math.min(cpu, cpuNanos(cpuStart) / job.events);
    best = Math.max(best, job.events / ((performance.now() - start) / 1000));
  }
  return { eventsPerSecond: best, cpuPerEvent: cpu, counted: counted.n };
}

async function node(job: Job): Promise<Measure> {
  const core = (await import(pathToFileURL(join(job.dir, 'src/index.js')).href)) as typeof Core;
  const entry = (await import(
    pathToFileURL(join(job.dir, 'src/node.js')).href
  )) as typeof NodeEntry;
  const counted = { n: 0 };
  const config = core.resolveOptions(options(job.variant, counted));
  let events = 0;
  const server = createServer((_req, res) => {
    const run = entry.streamToResponse(res, producer(events), config);
    run.ready.catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const read = (n: number): Promise<number> =>
    new Promise((resolve, reject) => {
      events = n;
      const socket = connect(port, '127.0.0.1');
      let start = 0;
      socket.once('connect', () => {
        start = performance.now();
        socket.write('GET / HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n');
      });
      // The response is chunked: it ends with the last chunk (the connection stays open).
      let tail = '';
      socket.on('data', (chunk: Buffer) => {
        tail = (tail + chunk.toString('latin1')).slice(-5);
        if (tail !== '0\r\n\r\n') return;
        resolve((performance.now() - start) / 1000);
        socket.destroy();
      });
      socket.once('error', reject);
    });
  await read(100_000); // warm-up
  let best = 0;
  let cpu = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    counted.n = 0;
    const cpuStart = process.cpuUsage();
    best = Math.max(best, job.events / (await read(job.events)));
    cpu = Math.min(cpu, cpuNanos(cpuStart) / job.events);
  }
  server.close();
  return { eventsPerSecond: best, cpuPerEvent: cpu, counted: counted.n };
}

function runChild(job: Job): Promise<Measure> {
  return new Promise((done, fail) => {
    const child = fork(join(cache, 'after/bench/stats.js'), [`--child=${JSON.stringify(job)}`], {
      stdio: 'inherit',
    });
    let result: Measure | undefined;
    child.once('message', (message) => (result = message as Measure));
    child.once('error', fail);
    child.once('exit', (code) =>
      result ? done(result) : fail(new Error(`${job.scenario} child exited with ${code}`)),
    );
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

async function orchestrate(): Promise<void> {
  const rev = option('before') ?? 'c83a12b';
  const reps = Number(option('reps') ?? 5);
  const engineEvents = Number(option('events') ?? 2_000_000);
  const nodeEvents = Number(option('node-events') ?? 500_000);
  const beforeSources = join(cache, 'before-src');
  rmSync(beforeSources, { recursive: true, force: true });
  mkdirSync(beforeSources, { recursive: true });
  execFileSync('sh', ['-c', `git archive ${rev} src | tar -x -C ${beforeSources}`], { cwd: root });
  await compile(root, join(cache, 'after'));
  await compile(beforeSources, join(cache, 'before'));
  const contenders: { name: string; dir: string; variant: Variant }[] = [
    { name: `before (${rev})`, dir: join(cache, 'before'), variant: 'unused' },
    { name: 'after, unused', dir: join(cache, 'after'), variant: 'unused' },
    { name: 'after, lifecycle', dir: join(cache, 'after'), variant: 'lifecycle' },
    { name: 'after, lifecycle + maxIdle', dir: join(cache, 'after'), variant: 'lifecycle+idle' },
  ];
  const results = new Map<string, number[]>();
  const cpuResults = new Map<string, number[]>();
  for (let rep = 0; rep < reps; rep++) {
    for (const scenario of ['engine', 'node'] as const) {
      for (const { name, dir, variant } of contenders) {
        const events = scenario === 'engine' ? engineEvents : nodeEvents;
        const measure = await runChild({ scenario, dir, variant, events });
        if (variant !== 'unused' && measure.counted !== events) {
          throw new Error(`${name}: the hook counted ${measure.counted} of ${events} events`);
        }
        const key = `${scenario}\t${name}`;
        results.set(key, [...(results.get(key) ?? []), measure.eventsPerSecond]);
        cpuResults.set(key, [...(cpuResults.get(key) ?? []), measure.cpuPerEvent]);
      }
    }
  }
  console.log(
    `engine: ${engineEvents} events in one stream; node: ${nodeEvents} events on one loopback connection; median of ${reps}, interleaved\n`,
  );
  console.log('| scenario | contender | events/s | × before | CPU ns/event | × before |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const scenario of ['engine', 'node']) {
    const base = median(results.get(`${scenario}\tbefore (${rev})`) ?? [1]);
    const cpuBase = median(cpuResults.get(`${scenario}\tbefore (${rev})`) ?? [1]);
    for (const { name } of contenders) {
      const value = median(results.get(`${scenario}\t${name}`) ?? []);
      const cpu = median(cpuResults.get(`${scenario}\t${name}`) ?? []);
      console.log(
        `| ${scenario} | ${name} | ${Math.round(value).toLocaleString('en-US')} | ${(value / base).toFixed(3)} | ${cpu.toFixed(1)} | ${(cpu / cpuBase).toFixed(3)} |`,
      );
    }
  }
}

const childJob = option('child');
if (childJob !== undefined) {
  const job = JSON.parse(childJob) as Job;
  process.send?.(job.scenario === 'engine' ? await engine(job) : await node(job));
  process.disconnect?.();
} else {
  await orchestrate();
}
