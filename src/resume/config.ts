/**
 * The store options every store shares, checked and resolved once, and the generation id rules.
 * @module
 */
import { SseError } from '../errors.js';
import type { StoreOptions } from './store.js';

/** {@link StoreOptions} with every default resolved. */
export interface StoreConfig {
  /** Events kept per generation. */
  readonly maxEvents: number;
  /** Milliseconds a finished generation is kept. */
  readonly afterDoneMs: number;
  /** Milliseconds a live generation is kept without an append. */
  readonly idleMs: number;
  /** The producer lease in milliseconds. */
  readonly leaseMs: number;
  /** Live events queued per reader. */
  readonly readerLimit: number;
}

const MAX_TIMER_DELAY = 2 ** 31 - 1;

function positive(field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value > 0 && value <= max)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`${field}\` must be a positive integer${max === MAX_TIMER_DELAY ? ' number of milliseconds up to 2147483647' : ''}, received ${String(value)}`,
      { field },
    );
  }
  return value;
}

/**
 * Checks a store's {@link StoreOptions} and resolves their defaults, for store implementations.
 *
 * @throws `SseError` `INVALID_OPTION` naming the option.
 *
 * @example Defaults
 * ```ts
 * import { resolveStoreOptions } from 'ssekit/resume';
 *
 * resolveStoreOptions({ leaseMs: 1000 }).maxEvents; // 10000
 * ```
 */
export function resolveStoreOptions(options: StoreOptions = {}): StoreConfig {
  if (typeof options !== 'object' || options === null) {
    throw new SseError('INVALID_OPTION', '`options` must be an object', { field: 'options' });
  }
  const { retention = {}, leaseMs = 3000, readerLimit = 1024 } = options;
  if (typeof retention !== 'object' || retention === null) {
    throw new SseError('INVALID_OPTION', '`retention` must be an object', { field: 'retention' });
  }
  const { maxEvents = 10_000, afterDoneMs = 15 * 60_000, idleMs = 10 * 60_000 } = retention;
  return {
    maxEvents: positive('retention.maxEvents', maxEvents),
    afterDoneMs: positive('retention.afterDoneMs', afterDoneMs, MAX_TIMER_DELAY),
    idleMs: positive('retention.idleMs', idleMs, MAX_TIMER_DELAY),
    leaseMs: positive('leaseMs', leaseMs, MAX_TIMER_DELAY),
    readerLimit: positive('readerLimit', readerLimit),
  };
}

const GEN = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Whether `gen` is a valid generation id: 1–32 chars of `[A-Za-z0-9_-]`.
 *
 * @example
 * ```ts
 * import { isGeneration } from 'ssekit/resume';
 *
 * isGeneration('k3F9xQ'); // true
 * isGeneration('a.b'); // false
 * ```
 */
export function isGeneration(gen: unknown): gen is string {
  return typeof gen === 'string' && GEN.test(gen);
}

/**
 * A fresh random generation id (16 URL-safe characters, from `crypto.getRandomValues`).
 *
 * @example
 * ```ts
 * import { newGeneration } from 'ssekit/resume';
 *
 * newGeneration(); // e.g. 'q1Vb-7x_ZkP0aLm2'
 * ```
 */
export function newGeneration(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let gen = '';
  for (const byte of bytes) gen += alphabet[byte & 63];
  return gen;
}

/** Unrefs a timer where the runtime can (Node, Bun, Deno), so a store never keeps a process up. */
export function unref(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}
