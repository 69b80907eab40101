/**
 * A real `redis-server` for tests: started on a free loopback port, stopped by its PID, never a
 * system instance. Each test file starts its own and stops it in `afterAll`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe } from 'vitest';

/** Where the Debian package puts the server; `REDIS_SERVER` overrides it. */
export const redisServerPath = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

/** Whether a `redis-server` binary is installed. */
export const hasRedisServer = existsSync(redisServerPath);

/**
 * `describe` when `redis-server` is installed; otherwise a skipped `describe` with a clear
 * message, or a failing one when `CI=true` (CI must run these tests, not skip them).
 */
export function describeWithRedis(name: string, body: () => void): void {
  if (hasRedisServer) {
    describe(name, body);
    return;
  }
  const why = `${redisServerPath} is missing (apt-get install redis-server, or set REDIS_SERVER)`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      throw new Error(`${why}; CI=true, so this suite fails instead of skipping`);
    });
  } else {
    console.warn(`skipping "${name}": ${why}`);
    describe.skip(`${name} (skipped: ${why})`, body);
  }
}

/** Options of {@link startRedis}. */
export interface RedisServerOptions {
  /** AOF persistence (`--appendonly yes --appendfsync always`) in a temp dir, for restart tests. */
  persistent?: boolean;
  /** Extra `redis-server` arguments, e.g. `['--maxmemory', '10mb']`. */
  args?: string[];
}

/** A running test server. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  /** The PID of the current process (changes after {@link RedisServer.restart}). */
  readonly pid: number;
  /** Stops the process (SIGTERM, SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  /** Kills the process at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port (and, when persistent, the same data dir). */
  start(): Promise<void>;
  /** Stops then starts it. */
  restart(): Promise<void>;
  /** Stops it for good and removes its temp dir. */
  close(): Promise<void>;
}

/** A port that was free a moment ago (bind port 0, read it, close). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends `PING` over a raw socket; resolves whether `+PONG` came back. */
async function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts a `redis-server` on a free 127.0.0.1 port and waits until it answers `PING`.
 *
 * @example A server for one test file
 * ```ts
 * const redis = await startRedis();
 * afterAll(() => redis.close());
 * ```
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'ssekit-redis-'));
  const persistence = options.persistent
    ? ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  let child: ChildProcess | undefined;
  let port = 0;
  let log = '';

  const launch = async (): Promise<boolean> => {
    log = '';
    const proc = spawn(
      redisServerPath,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--protected-mode',
        'yes',
        ...persistence,
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout.on('data', (chunk: Buffer) => (log += chunk.toString()));
    proc.stderr.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) return false; // e.g. the port was taken meanwhile
      if (await ping(port)) return true;
      await sleep(20);
    }
    proc.kill('SIGKILL');
    throw new Error(`redis-server on port ${String(port)} did not answer PING in 5 s:\n${log}`);
  };

  const stop = async (graceMs = 2_000): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    if (!(await exited(proc, graceMs))) {
      proc.kill('SIGKILL');
      await exited(proc, 2_000);
    }
  };

  const start = async (): Promise<void> => {
    if (!(await launch())) throw new Error(`redis-server exited:\n${log}`);
  };

  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    if (await launch()) break;
    if (attempt === 4) throw new Error(`redis-server would not start:\n${log}`);
  }

  return {
    get port() {
      return port;
    },
    get url() {
      return `redis://127.0.0.1:${String(port)}`;
    },
    get pid() {
      return child?.pid ?? -1;
    },
    stop,
    async kill() {
      const proc = child;
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited(proc, 2_000);
    },
    start,
    async restart() {
      await stop();
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
