/**
 * Sends the store's commands with a bound on what is pending and on how long each may take,
 * retries what a dropped connection interrupted (every write is idempotent: appends carry their
 * seq, creates their gen), and runs the Lua scripts by SHA with a fallback to `EVAL` (a Redis
 * restart empties the script cache).
 * @module
 */
import { SseError } from '../../src/errors.js';
import type { RedisConnection } from './client.js';

/** A Lua script and its SHA-1 (computed once, with Web Crypto). */
export interface Script {
  readonly source: string;
  readonly sha: Promise<string>;
}

/** Prepares a script for {@link Commands.script}. */
export function script(source: string): Script {
  const sha = crypto.subtle
    .digest('SHA-1', new TextEncoder().encode(source))
    .then((hash) => [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, '0')).join(''));
  return { source, sha };
}

/** Limits of {@link createCommands}. */
export interface CommandLimits {
  /** Give up on a command (and its retries) after this long, in ms. */
  readonly timeoutMs: number;
  /** Refuse new commands while this many are pending. */
  readonly maxPending: number;
}

/** The store's command channel. */
export interface Commands {
  /** Sends one command; rejects with `SseError` `STORE_UNAVAILABLE` past the limits. */
  send(args: readonly string[]): Promise<unknown>;
  /** Runs a script (EVALSHA, EVAL on NOSCRIPT); same errors as {@link Commands.send}. */
  script(script: Script, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** How many commands are pending now. */
  readonly pending: number;
}

const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** A reply error from the server (not a connection fault), e.g. `ERR …`, `WRONGTYPE …`. */
function replyCode(error: unknown): string | undefined {
  return /^([A-Z]{3,})\s/.exec(message(error))?.[1];
}

/** Server replies that mean "try again shortly" (a restarting or busy server). */
const TRANSIENT = new Set(['LOADING', 'BUSY', 'TRYAGAIN', 'CLUSTERDOWN', 'MASTERDOWN']);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Wraps a connection with the limits.
 *
 * @example Bounded commands
 * ```ts
 * const commands = createCommands(connection, { timeoutMs: 5_000, maxPending: 1_000 });
 * await commands.send(['PING']);
 * ```
 */
export function createCommands(connection: RedisConnection, limits: CommandLimits): Commands {
  let pending = 0;

  /** One attempt, cut at the deadline. */
  const attempt = async (args: readonly string[], deadline: number): Promise<unknown> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sent = connection.send(args);
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no reply in ${String(limits.timeoutMs)} ms`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([sent, expired]);
    } finally {
      clearTimeout(timer);
      // A reply that comes after the deadline belongs to an attempt already reported as
      // failed (STORE_UNAVAILABLE below); its outcome is deliberately discarded here.
      sent.catch(() => undefined);
    }
  };

  const run = async (args: readonly string[], fallback?: readonly string[]): Promise<unknown> => {
    if (pending >= limits.maxPending) {
      throw new SseError(
        'STORE_UNAVAILABLE',
        `Redis has ${String(pending)} commands pending (maxPending); refusing more`,
        { field: 'maxPending' },
      );
    }
    pending++;
    const deadline = Date.now() + limits.timeoutMs;
    let current = args;
    let delay = 20;
    try {
      for (;;) {
        try {
          return await attempt(current, deadline);
        } catch (error) {
          const code = replyCode(error);
          if (code === 'NOSCRIPT' && fallback !== undefined && current !== fallback) {
            current = fallback;
            continue;
          }
          if (code !== undefined && !TRANSIENT.has(code)) {
            throw new SseError(
              'STORE_UNAVAILABLE',
              `Redis refused ${args[0] ?? ''}: ${message(error)}`,
              {
                cause: error,
              },
            );
          }
          if (Date.now() + delay >= deadline) {
            throw new SseError(
              'STORE_UNAVAILABLE',
              `Redis did not answer ${args[0] ?? ''} in ${String(limits.timeoutMs)} ms: ${message(error)}`,
              { cause: error },
            );
          }
          await sleep(delay);
          delay = Math.min(delay * 2, 250);
        }
      }
    } finally {
      pending--;
    }
  };

  return {
    send: (args) => run(args),
    async script(script, keys, args) {
      const tail = [String(keys.length), ...keys, ...args];
      return run(['EVALSHA', await script.sha, ...tail], ['EVAL', script.source, ...tail]);
    },
    get pending() {
      return pending;
    },
  };
}
