/**
 * This run's settings (from the command line: `--quick` | `--full`, `--only=`, `--contenders=`,
 * `--before=`, `--out=`, `--reps=`, `--idle=`), its contenders, and how their servers and the
 * clients are started. Every measurement module reads them from here.
 * @module
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contenders as allContenders, type Contender } from './contenders.js';
import { cacheDir, Child, type Cpu } from './harness.js';
import type { ServerConfig } from './shared.js';

// ---------------------------------------------------------------- settings

/** The command-line arguments. */
export const argv = process.argv.slice(2);
const option = (name: string): string | undefined =>
  argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
/** Whether this is the full (reference) run. */
export const full = argv.includes('--full');

/** The counts and times of this run's mode. */
export const settings = full
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
      // The soak run of issue 12 (`bench/soak.ts`): 10,000 streams for 10 minutes.
      soak: { streams: 10_000, durationS: 600 },
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
      soak: { streams: 1_000, durationS: 20 },
    };

// `--reps=N` and `--idle=N,N` override the mode's repetitions and idle sizes (for experiments).
if (option('reps') !== undefined) settings.repetitions = Number(option('reps'));
if (option('idle') !== undefined)
  settings.idleSizes = (option('idle') ?? '').split(',').map(Number);

/** The measurements to run (`--only=`). */
export const scenarios = new Set(
  (option('only') ?? 'format,throughput,latency,idle,slow,soak').split(',').filter(Boolean),
);
const wanted = option('contenders')?.split(',');
/** A copy of `src/` and `adapters/` as they were, for A/B runs (`--before=`). */
export const before = option('before');

/** A contender as run here: which server script runs which contender under which name. */
export interface Entry {
  readonly name: string;
  readonly baseline: boolean;
  readonly idleOnly: boolean;
  readonly serverName: string;
  readonly script: string;
}
/** Contenders whose adapter is missing here. */
export const skipped = allContenders
  .filter((contender) => !contender.available())
  .map((c) => c.name);
/** Where the results go (`--out=`, else `bench/RESULTS.md`). */
export const out = option('out') ?? fileURLToPath(new URL('RESULTS.md', import.meta.url));

/** This checkout's compiled tree. */
export const compiled = cacheDir('ssekit-bench');
/** The compiled tree of `--before`. */
export const compiledBefore = cacheDir('ssekit-bench-before');
const serverScript = join(compiled, 'bench/server.js');
const clientScript = join(compiled, 'bench/client.js');

/** The contenders of this run (`--contenders=` and the baseline; `(before)` twins with `--before`). */
export const contenders: Entry[] = allContenders
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
export const streamers = contenders.filter((contender) => !contender.idleOnly);

/** A started server: its contender, its process and its port. */
export interface Server {
  contender: Entry;
  child: Child;
  port: number;
}

/** A server's CPU time so far, in microseconds. */
export const cpuOf = async (server: Server): Promise<number> => {
  const { user, system } = await server.child.call<Cpu>('cpu');
  return user + system;
};

/** Starts one server process per contender and resolves with their ports. */
export async function startServers(list: readonly Entry[], needFiles = 0): Promise<Server[]> {
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

/** Starts a client process and resolves once it answers. */
export async function startClient(needFiles = 0): Promise<Child> {
  const child = new Child(clientScript, [], needFiles, 'client');
  // The client has no port: it is ready when it answers.
  await child.call('heldStats', undefined, 60_000);
  return child;
}

/** The name of the baseline contender. */
export const baselineName = (): string =>
  (allContenders.find((contender) => contender.baseline) as Contender).name;
