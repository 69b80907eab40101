/**
 * Memory per open stream: `node --expose-gc --import tsx bench/memory.ts`.
 *
 * Two measurements, each in a fresh child process (so one cannot inherit the other's heap), run
 * interleaved for several repetitions, median reported:
 *
 * - `engine`: N streams made with `runStream` over a minimal transport (commit and close do
 *   nothing, write returns true, waitForDrain never settles), each with one event written and
 *   heartbeats on at the default 15 s; `heapUsed` after `gc()`, per stream.
 * - `node`: N real loopback connections to a `node:http` server, each answered by
 *   `streamToResponse` with the same producer, against plain `node:http` writing pre-built frames
 *   with a heartbeat interval (the baseline of `bench/run.ts`); `heapUsed` and RSS per connection.
 *   The clients run in a process of their own.
 *
 * The children run the project's TypeScript compiled by `tsc` (`transpileModule`, as in
 * bench/run.ts), not through tsx: its loader keeps function names with a helper that gives every
 * closure a dictionary of own properties (about 256 bytes each), which would swamp what is measured.
 *
 * Options: `--n=<streams>` (engine, default 10000), `--conns=<connections>` (node, default 2000,
 * 0 skips it), `--reps=<repetitions>` (default 3), and for A/B runs `--before=<dir>`: a copy of
 * `src/` as it was (`<dir>/src/index.ts`), run as extra contenders interleaved with the current code.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Core from '../src/index.js';
import type * as NodeEntry from '../src/node.js';
import { aborted, FRAME, HEADERS, TOKEN } from './shared.js';

const argv = process.argv.slice(2);
const option = (name: string): string | undefined =>
  argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const script = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url));
const compiled = join(root, 'node_modules/.cache/ssekit-memory');
const compiledBefore = join(root, 'node_modules/.cache/ssekit-memory-before');

/** Compiles `<sources>/src` and this script (with `bench/shared.ts`) into `outDir`, as plain ESM. */
async function compile(sources: string, outDir: string): Promise<void> {
  // Loaded here so the measuring children, which import this file, never load TypeScript.
  const { compileFiles, tsFiles } = await import('./compile.js');
  compileFiles(
    [
      ...tsFiles(sources, 'src'),
      [root, join('bench', 'memory.ts')],
      [root, join('bench', 'shared.ts')],
    ],
    outDir,
  );
}

/** What one child measures. */
interface Job {
  scenario: 'engine' | 'node';
  /** `ssekit` (a copy of `src/` at `dir`) or `bare` (plain node:http, node scenario only). */
  contender: 'ssekit' | 'bare';
  dir: string;
  count: number;
}

/** What one child reports. */
interface Measure {
  heapPerItem: number;
  rssPerItem: number;
}

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with node --expose-gc');
  collect();
  collect();
};

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((done) => setImmediate(done));
};

/** The `/idle` producer of bench/contenders.ts: one event, then silence until the client leaves. */
async function idle(writer: Core.SseWriter): Promise<void> {
  await writer.send(TOKEN);
  await aborted(writer.signal);
}

async function engine(job: Job): Promise<Measure> {
  const core = (await import(pathToFileURL(join(job.dir, 'src/index.js')).href)) as typeof Core;
  const config = core.resolveOptions({}); // heartbeat: the default 15 s
  const transport: Core.SseTransport = {
    commit() {},
    write: () => true,
    waitForDrain: () => new Promise<void>(() => {}),
    close() {},
  };
  const open = (n: number): Core.StreamRun[] =>
    Array.from({ length: n }, () => core.runStream(transport, idle, config));
  // Warm up: the first streams pay for code, shapes and feedback vectors.
  for (const run of open(1000)) run.abort();
  await turns(3);
  gc();
  const before = process.memoryUsage();
  const runs = open(job.count);
  await turns(3);
  gc();
  const after = process.memoryUsage();
  for (const run of runs) run.abort();
  await Promise.all(runs.map((run) => run.done));
  return {
    heapPerItem: (after.heapUsed - before.heapUsed) / job.count,
    rssPerItem: (after.rss - before.rss) / job.count,
  };
}

async function node(job: Job): Promise<Measure> {
  let listener: (res: ServerResponse) => void;
  if (job.contender === 'bare') {
    listener = (res) => {
      res.writeHead(200, HEADERS);
      res.write(FRAME);
      const timer = setInterval(() => res.write(':\n\n'), 15_000);
      res.once('close', () => clearInterval(timer));
    };
  } else {
    const core = (await import(pathToFileURL(join(job.dir, 'src/index.js')).href)) as typeof Core;
    const entry = (await import(
      pathToFileURL(join(job.dir, 'src/node.js')).href
    )) as typeof NodeEntry;
    const config = core.resolveOptions({});
    listener = (res) => {
      entry.streamToResponse(res, idle, config).ready.catch(() => res.destroy());
    };
  }
  const server = createServer((_req, res) => listener(res));
  await new Promise<void>((ready) =>
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, ready),
  );
  const { port } = server.address() as AddressInfo;
  const clients = (count: number): Promise<ChildProcess> =>
    new Promise((ready, fail) => {
      const child = fork(script, [`--client=${port},${count}`], { execArgv: [], stdio: 'inherit' });
      child.once('message', () => ready(child));
      child.once('error', fail);
      child.once('exit', (code) => fail(new Error(`client exited with ${code}`)));
    });
  const stop = async (child: ChildProcess): Promise<void> => {
    const exited = new Promise((done) => child.once('exit', done));
    child.kill();
    await exited;
  };
  try {
    await stop(await clients(200)); // warm up
    await turns(10);
    gc();
    const before = process.memoryUsage();
    const child = await clients(job.count);
    await turns(10);
    gc();
    const after = process.memoryUsage();
    await stop(child);
    return {
      heapPerItem: (after.heapUsed - before.heapUsed) / job.count,
      rssPerItem: (after.rss - before.rss) / job.count,
    };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** Client mode: opens connections in batches, reports once every one has received its first bytes. */
async function client(port: number, count: number): Promise<void> {
  const sockets: Socket[] = [];
  const request = 'GET /idle HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n';
  for (let start = 0; start < count; start += 250) {
    const batch = Array.from(
      { length: Math.min(250, count - start) },
      () =>
        new Promise<void>((ready, fail) => {
          const socket = connect(port, '127.0.0.1', () => socket.write(request));
          sockets.push(socket);
          socket.once('data', () => ready());
          socket.once('error', fail);
        }),
    );
    await Promise.all(batch);
  }
  process.send?.('ready');
  process.once('SIGTERM', () => {
    for (const socket of sockets) socket.destroy();
    process.exit(0);
  });
}

function runChild(job: Job): Promise<Measure> {
  return new Promise((done, fail) => {
    const child = fork(join(compiled, 'bench/memory.js'), [`--child=${JSON.stringify(job)}`], {
      execArgv: ['--expose-gc'],
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
  const n = Number(option('n') ?? 10_000);
  const conns = Number(option('conns') ?? 2_000);
  const reps = Number(option('reps') ?? 3);
  const beforeOption = option('before');
  const before = beforeOption && (isAbsolute(beforeOption) ? beforeOption : resolve(beforeOption));
  await compile(root, compiled);
  const contenders: { name: string; job: Omit<Job, 'count' | 'scenario'> }[] = [
    { name: 'ssekit', job: { contender: 'ssekit', dir: compiled } },
  ];
  if (before) {
    await compile(before, compiledBefore);
    contenders.push({ name: 'ssekit (before)', job: { contender: 'ssekit', dir: compiledBefore } });
  }
  const results = new Map<string, Measure[]>();
  const record = (key: string, measure: Measure): void => {
    results.set(key, [...(results.get(key) ?? []), measure]);
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const { name, job } of contenders)
      record(`engine\t${name}`, await runChild({ ...job, scenario: 'engine', count: n }));
    if (conns > 0) {
      record(
        'node\tbare node:http',
        await runChild({ contender: 'bare', dir: compiled, scenario: 'node', count: conns }),
      );
      for (const { name, job } of contenders)
        record(`node\t${name}`, await runChild({ ...job, scenario: 'node', count: conns }));
    }
  }
  const bare = results.get('node\tbare node:http');
  const bareRss = bare ? median(bare.map((m) => m.rssPerItem)) : undefined;
  const bareHeap = bare ? median(bare.map((m) => m.heapPerItem)) : undefined;
  console.log(`engine: ${n} streams; node: ${conns} loopback connections; median of ${reps}\n`);
  console.log('| scenario | contender | heap B/item | RSS B/item | heap × bare | RSS × bare |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [key, measures] of results) {
    const [scenario, name] = key.split('\t') as [string, string];
    const heap = median(measures.map((m) => m.heapPerItem));
    const rss = median(measures.map((m) => m.rssPerItem));
    const ratio = (value: number, base: number | undefined): string =>
      scenario === 'node' && base ? `${(value / base).toFixed(2)}×` : '–';
    console.log(
      `| ${scenario} | ${name} | ${heap.toFixed(0)} | ${rss.toFixed(0)} | ${ratio(heap, bareHeap)} | ${ratio(rss, bareRss)} |`,
    );
  }
}

const childJob = option('child');
const clientJob = option('client');
if (clientJob !== undefined) {
  const [port, count] = clientJob.split(',').map(Number) as [number, number];
  await client(port, count);
} else if (childJob !== undefined) {
  const job = JSON.parse(childJob) as Job;
  const measure = job.scenario === 'engine' ? await engine(job) : await node(job);
  process.send?.(measure);
  process.disconnect?.();
} else {
  await orchestrate();
}
