/**
 * Starts a runtime's server as a child process on a free loopback port, waits until it says
 * which port it listens on, and stops it by PID.
 */
import { type ChildProcess, spawn, type SpawnOptions, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export const root = join(import.meta.dirname, '../..');
export const fixtures = join(import.meta.dirname, 'fixtures');
export const bin = (name: string): string => join(root, 'node_modules/.bin', name);

/** A running server process. */
export interface RuntimeServer {
  readonly url: string;
  readonly pid: number;
  /** The match of `port` (group 1 is the port of `url`). */
  readonly match: RegExpExecArray;
  /** What the process printed so far (stdout and stderr). */
  output(): string;
  /** Stops the process (SIGTERM, then SIGKILL after 3 s) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Finds the port in what the process prints, or on the extra pipe `portPipe` names. */
  port: RegExp;
  /** A file descriptor number the port is reported on instead of stdout (workerd's control fd). */
  portPipe?: number;
  cwd?: string;
  env?: Record<string, string>;
  /** Milliseconds to wait for the port. @defaultValue 30000 */
  timeout?: number;
}

/** Why `command args…` cannot run on this machine, or `undefined` when it ran and exited 0. */
export function cannotRun(command: string, args: string[]): string | undefined {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) return `${command}: ${result.error.message}`;
  if (result.status !== 0) {
    return `${command} ${args.join(' ')} exited with ${String(result.status)}: ${result.stderr}`;
  }
  return undefined;
}

/**
 * Whether to skip a runtime's suite: when its binary cannot run here (an npm package without a
 * build for this platform), with a clear message; never when `CI=true`, where it throws instead.
 */
export function skipRuntime(name: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`${name} cannot run on this machine: ${reason}`);
  console.warn(`Skipping the ${name} tests: ${reason} (they fail instead when CI=true)`);
  return true;
}

/**
 * The built package must exist and be newer than its sources: the runtimes import `ssekit` as
 * users do, from dist/ (`npm test` builds first).
 */
export function requireBuild(): void {
  for (const dir of ['src', 'adapters']) {
    for (const name of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!name.endsWith('.ts') || name.endsWith('.d.ts')) continue;
      const built = join(root, 'dist', dir, name.replace(/\.ts$/, '.js'));
      if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
      if (statSync(built).mtimeMs < statSync(join(root, dir, name)).mtimeMs) {
        throw new Error(`${built} is older than ${dir}/${name}: run \`npm run build\` first`);
      }
    }
  }
}

export function startServer(
  command: string,
  args: string[],
  { port, portPipe, cwd = root, env = {}, timeout = 30_000 }: StartOptions,
): Promise<RuntimeServer> {
  const stdio: SpawnOptions['stdio'] = ['ignore', 'pipe', 'pipe'];
  if (portPipe !== undefined) {
    while (stdio.length < portPipe) stdio.push('ignore');
    stdio.push('pipe');
  }
  const child: ChildProcess = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio,
  });
  let output = '';
  let portText = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')}: ${why}\n${output}`));
    };
    const timer = setTimeout(() => fail(`no port within ${timeout} ms`), timeout);
    const look = (): void => {
      const match = port.exec(portPipe === undefined ? output : portText);
      if (!match) return;
      clearTimeout(timer);
      child.off('exit', onEarlyExit);
      const pid = child.pid as number;
      resolve({
        url: `http://127.0.0.1:${match[1] ?? ''}`,
        pid,
        match,
        output: () => output,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          process.kill(pid, 'SIGTERM');
          const force = setTimeout(() => process.kill(pid, 'SIGKILL'), 3000);
          await exited;
          clearTimeout(force);
        },
      });
    };
    const onEarlyExit = (code: number | null): void => fail(`exited early with ${String(code)}`);
    child.once('exit', onEarlyExit);
    child.once('error', (error) => fail(error.message));
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => {
        output += text;
        look();
      });
    }
    if (portPipe !== undefined) {
      const pipe = child.stdio[portPipe] as Readable;
      pipe.setEncoding('utf8');
      pipe.on('data', (text: string) => {
        portText += text;
        look();
      });
    }
  });
}
