/**
 * A/B throughput of resumable streams: the code of this tree against a copy of it as it was,
 * interleaved in one run. `node --import tsx bench/resume-ab.ts --before=<dir> [--reps=3]
 * [--frameworks=node,express] [--modes=off,memory,redis]`, where `<dir>` holds a checkout of the
 * old code with `node_modules` linked (e.g. `git archive <commit> | tar -x -C <dir>`).
 *
 * Each contender is a server child of that tree's `bench/resume-redis.ts --serve` (so both sides
 * run their own `src/`, `stores/` and route code) on one shared `redis-server`, driven by the
 * raw-HTTP client child of `bench/client.ts`. Per repetition and contender: a warm-up, then 1
 * connection × n1 events and 100 connections × n100 events (5-byte tokens, the producer awaiting
 * every `send()`); prints events/s, server CPU µs/event, and each ratio to the same tree's
 * resume-off, medians over the repetitions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis } from '../test/helpers/redis-server.js';
import type { Reply } from './shared.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const option = (name: string): string | undefined =>
  process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const beforeDir = option('before');
if (beforeDir === undefined) throw new Error('--before=<dir> is required');
const reps = Number(option('reps') ?? 3);
const frameworks = (option('frameworks') ?? 'node').split(',');
const modes = (option('modes') ?? 'off,memory,redis').split(',');
const n1 = Number(option('n1') ?? 50_000);
const n100 = Number(option('n100') ?? 500);

/** A child speaking the bench's IPC calls, run in `cwd`. */
class Child {
  readonly process: ChildProcess;
  readonly ready: Promise<number>;
  #next = 0;
  readonly #pending = new Map<number, (reply: Reply) => void>();

  constructor(cwd: string, args: string[]) {
    this.process = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', ...args], {
      cwd,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise((resolvePort, reject) => {
      this.process.once('exit', (code) => reject(new Error(`child exited ${String(code)}`)));
      this.process.on('message', (message: Reply | { ready: true; port: number }) => {
        if ('ready' in message) return resolvePort(message.port);
        this.#pending.get(message.id)?.(message);
        this.#pending.delete(message.id);
      });
    });
    this.ready.catch(() => undefined);
  }

  call<T>(cmd: string, args?: unknown): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolveCall, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} timed out`)), 120_000);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.ok) resolveCall(reply.value as T);
        else reject(new Error(reply.error ?? `${cmd} failed`));
      });
      this.process.send({ id, cmd, args });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((done) => this.process.once('exit', done));
    this.process.kill('SIGTERM');
    await exited;
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

const trees = [
  ['before', resolve(beforeDir)],
  ['after', root],
] as const;
const results = new Map<string, number[]>();
const record = (key: string, value: number): void => {
  results.set(key, [...(results.get(key) ?? []), value]);
};

const started = Date.now();
const load = loadavg();
const redis = await startRedis();
const client = new Child(root, ['bench/client.ts']);
try {
  for (let rep = 0; rep < reps; rep++) {
    for (const framework of frameworks) {
      for (const mode of modes) {
        for (const [tree, dir] of rep % 2 === 0 ? trees : [...trees].reverse()) {
          const server = new Child(dir, [
            join(dir, 'bench/resume-redis.ts'),
            '--serve',
            framework,
            mode,
            redis.url,
          ]);
          const port = await server.ready;
          try {
            const burst = (conns: number, n: number) =>
              client.call<{ elapsedMs: number; events: number }>('burst', {
                port,
                path: `/burst?n=${String(n)}`,
                conns,
                timeoutMs: 120_000,
              });
            await burst(1, n1 / 10);
            for (const [conns, n] of [
              [1, n1],
              [100, n100],
            ] as const) {
              const cpu0 = await server.call<NodeJS.CpuUsage>('cpu');
              const result = await burst(conns, n);
              const cpu1 = await server.call<NodeJS.CpuUsage>('cpu');
              if (result.events < conns * n) throw new Error(`${tree} ${mode}: events missing`);
              const key = `${tree} ${framework} ${mode} ${String(conns)}`;
              record(`${key} eps`, result.events / (result.elapsedMs / 1000));
              record(
                `${key} cpu`,
                (cpu1.user - cpu0.user + cpu1.system - cpu0.system) / result.events,
              );
            }
          } finally {
            await server.stop();
          }
        }
      }
    }
  }
} finally {
  await client.stop();
  await redis.stop();
}

const m = (key: string): number => median(results.get(key) ?? []);
const lines = [
  `A/B by \`bench/resume-ab.ts\` on ${new Date().toISOString()}, ${String(Math.round((Date.now() - started) / 1000))} s; ${String(cpus().length)} cores, Node ${process.version}, load ${load.map((l) => l.toFixed(2)).join(' / ')}; ${String(reps)} interleaved repetitions, medians; 1 conn × ${String(n1)} events, 100 conns × ${String(n100)} events.`,
  '',
  '| tree | server | resume | events/s, 1 conn | × off | CPU µs/event | events/s, 100 conns | × off | CPU µs/event |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const framework of frameworks) {
  for (const mode of modes) {
    for (const [tree] of trees) {
      const key = (conns: number) => `${tree} ${framework} ${mode} ${String(conns)}`;
      const ratio = (conns: number) =>
        (m(`${key(conns)} eps`) / m(`${tree} ${framework} off ${String(conns)} eps`)).toFixed(2);
      const cells = [1, 100].map(
        (conns) =>
          `${Math.round(m(`${key(conns)} eps`)).toLocaleString('en')} | ${ratio(conns)}× | ${m(`${key(conns)} cpu`).toFixed(2)}`,
      );
      lines.push(`| ${tree} | ${framework} | ${mode} | ${cells.join(' | ')} |`);
    }
  }
}
console.log(lines.join('\n'));
