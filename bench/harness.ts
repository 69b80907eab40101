/**
 * What every benchmark orchestrator shares: the child processes (servers and clients, spawned
 * with raised file-descriptor limits, spoken to over IPC, ended by their own PID), the compile
 * step, samples and statistics, markdown tables, and the list of targets with `check()`.
 * @module
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileFiles, tsFiles } from './compile.js';
import type { Call, Reply } from './shared.js';

const argv = process.argv.slice(2);
/** Connections one client process holds at most; file descriptors stay under the limit. */
export const CLIENT_CONNECTIONS = 15_000;

// ---------------------------------------------------------------- child processes

const live = new Set<ChildProcess>();

/** The soft and hard open-file limits of processes spawned from here. */
export function fileLimits(): { soft: number; hard: number } {
  const read = (flag: string): number => {
    const result = spawnSync('sh', ['-c', `ulimit ${flag}`], { encoding: 'utf8' });
    const text = result.stdout.trim();
    return text === 'unlimited' ? Infinity : Number(text) || 1024;
  };
  return { soft: read('-Sn'), hard: read('-Hn') };
}
const limits = fileLimits();

/** The repository's root folder. */
export const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * A folder under `node_modules/.cache/` for this checkout's compiled bench, named after `name` and
 * the checkout's path: `node_modules` is shared by the worktrees, and two runs must not overwrite
 * each other's files.
 */
export function cacheDir(name: string): string {
  const tag = createHash('sha256').update(root).digest('hex').slice(0, 8);
  return join(root, 'node_modules/.cache', `${name}-${tag}`);
}

/**
 * Compiles `src/`, `adapters/` and the bench's child entries with the project's TypeScript (the
 * code `npm run build` emits), so the children run plain JavaScript: no loader in the measured
 * processes, and a start-up that does not take seconds per process on a loaded machine.
 */
export function compile(sources: string, outDir: string): void {
  const bench = tsFiles(root, 'bench').filter(([, file]) => file !== join('bench', 'run.ts'));
  compileFiles([...tsFiles(sources, 'src'), ...tsFiles(sources, 'adapters'), ...bench], outDir);
}

/** A child process (a server or a client) spoken to over IPC, started with the descriptors it needs. */
export class Child {
  readonly process: ChildProcess;
  private nextId = 0;
  private readonly pending = new Map<
    number,
    { resolve(v: unknown): void; reject(e: Error): void }
  >();
  readonly ready: Promise<number>;

  constructor(script: string, args: string[], needFiles: number, label: string) {
    const profile = argv.includes('--cpu-prof')
      ? ['--cpu-prof', `--cpu-prof-dir=${join(root, 'bench/profiles')}`]
      : [];
    const node = [process.execPath, '--expose-gc', ...profile, script, ...args];
    // Raise the descriptor limit in the child when the scenario needs more than the default.
    const wantFiles = Math.min(limits.hard, Math.max(limits.soft, needFiles + 256));
    const [command, commandArgs] =
      wantFiles > limits.soft
        ? ['sh', ['-c', `ulimit -n ${String(wantFiles)} && exec "$@"`, 'sh', ...node]]
        : [node[0] as string, node.slice(1)];
    this.process = spawn(command, commandArgs, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      cwd: root,
    });
    live.add(this.process);
    let markReady: (port: number) => void = () => {};
    let failReady: (error: Error) => void = () => {};
    this.ready = new Promise<number>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    this.ready.catch(() => {});
    const timer = setTimeout(() => failReady(new Error(`${label} did not start`)), 60_000);
    this.process.on('message', (message: Reply | { ready: true; port: number }) => {
      if ('ready' in message) {
        clearTimeout(timer);
        markReady(message.port);
        return;
      }
      const entry = this.pending.get(message.id);
      if (entry === undefined) return;
      this.pending.delete(message.id);
      if (message.ok) entry.resolve(message.value);
      else entry.reject(new Error(`${label}: ${message.error ?? 'failed'}`));
    });
    // A failed spawn or send must not take the orchestrator down: the calls fail instead.
    this.process.on('error', (error) => log(`${label}:`, error.message));
    this.process.once('exit', (code, signal) => {
      live.delete(this.process);
      clearTimeout(timer);
      const error = new Error(`${label} exited (${String(code ?? signal)})`);
      failReady(error);
      for (const entry of this.pending.values()) entry.reject(error);
      this.pending.clear();
    });
  }

  call<T>(cmd: string, args?: unknown, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${cmd} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (!this.process.connected) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new Error(`${cmd}: the process has exited`));
        return;
      }
      this.process.send({ id, cmd, args } satisfies Call, (error) => {
        if (error) this.pending.get(id)?.reject(error);
      });
    });
  }

  /**
   * Ends this child (by its own PID) and resolves once it has exited: asked over IPC first, so a
   * profiled server exits normally and writes its profile, then SIGTERM, then SIGKILL.
   */
  stop(): Promise<void> {
    const child = this.process;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const term = setTimeout(() => child.kill('SIGTERM'), 3_000);
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(term);
        clearTimeout(force);
        resolve();
      });
      this.call('exit', undefined, 3_000).catch(() => child.kill('SIGTERM'));
    });
  }
}

/** Kills every child still running, synchronously (safe in an `exit` handler). */
export function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/** Stops every child in `children` (each by its own PID) and resolves when all have exited. */
export async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((child) => child.stop()));
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** A process's CPU time (`process.cpuUsage()`), in microseconds. */
export interface Cpu {
  user: number;
  system: number;
}
/** A process's RSS and used heap, in bytes. */
export interface Memory {
  rss: number;
  heapUsed: number;
}

// ---------------------------------------------------------------- statistics and tables

/** Samples per contender (or case) and metric. */
export class Samples {
  private readonly data = new Map<string, number[]>();
  private readonly failures = new Map<string, string>();
  add(key: string, value: number): void {
    const list = this.data.get(key) ?? [];
    list.push(value);
    this.data.set(key, list);
  }
  fail(key: string, error: unknown): void {
    this.failures.set(key, String((error as Error)?.message ?? error).split('\n', 1)[0] ?? '');
  }
  failure(key: string): string | undefined {
    return this.failures.get(key);
  }
  get(key: string): number[] {
    return this.data.get(key) ?? [];
  }
  median(key: string): number {
    return median(this.get(key));
  }
}

/** The median of `values` (NaN when empty). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** How a figure is shown in a table. */
export type Unit = (value: number) => string;
/** Shows a figure with `digits` decimals and a suffix (`–` when not finite). */
export const fixed =
  (digits: number, suffix = ''): Unit =>
  (value) =>
    Number.isFinite(value) ? value.toFixed(digits) + suffix : '–';
/** Shows a rate as 1.23M, 456k or 789. */
export const rate: Unit = (value) =>
  !Number.isFinite(value)
    ? '–'
    : value >= 1e6
      ? `${(value / 1e6).toFixed(2)}M`
      : value >= 1e4
        ? `${(value / 1e3).toFixed(0)}k`
        : value.toFixed(0);

/** The median and the min–max range of `values`, as two table cells. */
export function cell(values: number[], unit: Unit): [string, string] {
  if (values.length === 0) return ['–', '–'];
  return [unit(median(values)), `${unit(Math.min(...values))}–${unit(Math.max(...values))}`];
}

/** `value ÷ base` as `1.23×` (`–` when either is missing). */
export function ratio(value: number, base: number): string {
  return Number.isFinite(value) && Number.isFinite(base) && base !== 0
    ? `${(value / base).toFixed(2)}×`
    : '–';
}

/** A markdown table. */
export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The sections of the results, in the order they are written. */
export const sections: string[] = [];
/** The targets checked so far, for the summary table. */
export const targets: { target: string; measured: string; met: boolean | undefined }[] = [];
const began = Date.now();
/** Logs progress to stderr with the seconds since the run began. */
export const log = (...text: unknown[]): void =>
  console.error(`[bench ${((Date.now() - began) / 1000).toFixed(1)} s]`, ...text);

/** Records whether `value` meets a target (`≥ limit` when `atLeast`, else `≤ limit`). */
export function check(
  target: string,
  value: number,
  limit: number,
  atLeast: boolean,
  show: Unit,
): void {
  const met = Number.isFinite(value) ? (atLeast ? value >= limit : value <= limit) : undefined;
  targets.push({ target, measured: show(value), met });
}
