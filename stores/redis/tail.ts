/**
 * The tail loop: ONE `XREAD BLOCK` over every log this store instance follows, on one dedicated
 * connection (not one per reader). A newly followed key re-arms it at once (`CLIENT UNBLOCK` of
 * the blocked read from the command connection); a dropped connection is reopened and the read
 * resumes from the last ids it delivered, so a Redis restart with persistence loses nothing.
 * @module
 */
import type { RedisConnection } from './client.js';
import type { Commands } from './commands.js';
import { compareIds, type Entry, parseXRead } from './replies.js';

/** Options of {@link createTail}. */
export interface TailOptions {
  /** `XREAD BLOCK` timeout, in ms (kept under client command timeouts). */
  readonly blockMs: number;
  /** How long past `blockMs` a read may take before its connection is taken as dead, in ms. */
  readonly graceMs: number;
  /** `XREAD COUNT` per key. */
  readonly count: number;
  /** Connection errors of the dedicated connection (the loop retries; this is for logging). */
  readonly onError: (error: unknown) => void;
}

/** What the loop calls for a followed key. */
export interface TailListener {
  /** New entries, in order, each delivered once. */
  entries(entries: readonly Entry[]): void;
}

/** The loop, as the store uses it. */
export interface Tail {
  /** Follows `key` from `after` (an entry id); returns the function that stops following it. */
  follow(key: string, after: string, listener: TailListener): () => void;
  /** Where the loop is for `key` (the last id it delivered), if it follows it. */
  position(key: string): string | undefined;
  /** Stops the loop and closes its connection. */
  close(): Promise<void>;
}

interface Followed {
  id: string;
  readonly listener: TailListener;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the loop lazily: the connection opens on the first {@link Tail.follow}.
 *
 * @example Following one log
 * ```ts
 * const tail = createTail(connection, commands, { blockMs: 1_000, graceMs: 5_000, count: 256, onError() {} });
 * const stop = tail.follow('{ssekit:3}:log:chat-1:k3F9', '0-0', { entries: console.log });
 * ```
 */
export function createTail(
  connection: RedisConnection,
  commands: Commands,
  options: TailOptions,
): Tail {
  const followed = new Map<string, Followed>();
  let blocking: RedisConnection | undefined;
  let clientId: string | undefined;
  let running: Promise<void> | undefined;
  let blocked = false;
  let closed = false;
  let wake: (() => void) | undefined;
  let rearm = false;
  let onClose: () => void = () => {};
  const closing = new Promise<undefined>((resolve) => (onClose = () => resolve(undefined)));

  /**
   * Waits for a command on the blocking connection, at most `ms` (a command that outlives its
   * bound means a dead connection: a client may keep it queued for ever while it reconnects,
   * e.g. ioredis after disconnect()), and no longer than close(), which resolves it undefined.
   */
  const bounded = async (command: Promise<unknown>, ms: number): Promise<unknown> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply in ${String(ms)} ms`)), ms);
    });
    try {
      return await Promise.race([command, stalled, closing]);
    } finally {
      clearTimeout(timer);
      // Superseded by the bound or close(): its outcome no longer matters.
      command.catch(() => undefined);
    }
  };

  const drop = async (): Promise<void> => {
    const conn = blocking;
    blocking = undefined;
    clientId = undefined;
    if (conn !== undefined) await conn.close().catch(options.onError);
  };

  const loop = async (): Promise<void> => {
    let delay = 20;
    while (!closed) {
      if (followed.size === 0) {
        // Idle: wait for a key (follow() resolves this), keep the connection for the next one.
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        continue;
      }
      try {
        if (blocking === undefined) {
          // A client may wait for the server for ever while connecting (node-redis retries):
          // close() must not wait with it; a connection that opens after close is closed.
          const opening = connection.duplicate();
          const opened = await Promise.race([opening, closing]);
          if (opened === undefined) {
            opening.then((late) => late.close(), options.onError).catch(options.onError);
            break;
          }
          blocking = opened;
          clientId = String(await bounded(blocking.send(['CLIENT', 'ID']), options.graceMs));
          if (closed) break;
        }
        const keys = [...followed.keys()];
        const ids = keys.map((key) => followed.get(key)?.id ?? '0-0');
        rearm = false;
        blocked = true;
        const reply = await bounded(
          blocking.send([
            'XREAD',
            'COUNT',
            String(options.count),
            'BLOCK',
            String(options.blockMs),
            'STREAMS',
            ...keys,
            ...ids,
          ]),
          options.blockMs + options.graceMs,
        ).finally(() => (blocked = false));
        if (closed) break;
        delay = 20;
        for (const [key, entries] of parseXRead(reply)) {
          const entry = followed.get(key);
          if (entry === undefined) continue; // unfollowed while the read was out
          const fresh = entries.filter((e) => compareIds(e.id, entry.id) > 0);
          const last = fresh.at(-1);
          if (last === undefined) continue;
          entry.id = last.id;
          entry.listener.entries(fresh);
        }
      } catch (error) {
        if (closed) break;
        options.onError(error);
        await drop();
        await sleep(delay);
        delay = Math.min(delay * 2, 500);
      }
    }
    await drop();
  };

  /** Interrupts a blocked read so the next one includes the new key. */
  const unblock = (): void => {
    if (rearm) return;
    rearm = true;
    queueMicrotask(() => {
      if (!blocked || clientId === undefined) return; // the next read picks the key up anyway
      commands.send(['CLIENT', 'UNBLOCK', clientId]).catch(options.onError);
    });
  };

  return {
    follow(key, after, listener) {
      if (closed) throw new Error('the tail loop is closed');
      const entry: Followed = { id: after, listener };
      followed.set(key, entry);
      running ??= loop();
      wake?.();
      unblock();
      return () => {
        if (followed.get(key) === entry) followed.delete(key);
      };
    },
    position: (key) => followed.get(key)?.id,
    async close() {
      closed = true;
      onClose();
      wake?.();
      await drop();
      await running;
    },
  };
}
