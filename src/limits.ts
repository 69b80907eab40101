/**
 * Stream limits: concurrent streams overall and per key (checked before a stream commits and
 * answered with `429` and `Retry-After`), and a stream's longest lifetime and idle time (ended with
 * an `ssekit.limit` event the client can see).
 * @module
 */
import { drainRetryAfter } from './drain.js';
import { SseError } from './errors.js';
import type { StreamProbe, StreamRun } from './stream.js';

/** Options of {@link createLimiter}. */
export interface LimiterOptions<R = unknown> {
  /**
   * The most streams open at once through this limiter (share one limiter between endpoints to
   * cap them together).
   * @defaultValue `Infinity`
   */
  max?: number | undefined;
  /**
   * The most streams open at once per key (see `key`).
   * @defaultValue `Infinity`
   */
  perKey?: number | undefined;
  /**
   * The key of a request for `perKey`: an IP, a user id, an API key. `undefined` puts the request
   * under `max` only. Required with `perKey`.
   * @defaultValue none
   */
  key?: ((request: R) => string | undefined) | undefined;
  /**
   * The `Retry-After` of a `429`, in seconds.
   * @defaultValue `1`
   */
  retryAfter?: number | undefined;
}

/** A slot taken by {@link StreamLimiter.acquire}: give it back once, when the stream has ended. */
export type Release = () => void;

/** Counts open streams against {@link LimiterOptions}; made by {@link createLimiter}. */
export interface StreamLimiter<R = unknown> {
  /** Takes a slot for `request`, or returns `undefined` when a limit is reached. */
  acquire(request: R): Release | undefined;
  /** Streams open now. */
  readonly active: number;
  /** Streams open now under `key`. */
  count(key: string): number;
  /** The `Retry-After` of a refusal, in seconds. */
  readonly retryAfter: number;
}

function limit(field: string, value: number | undefined): number {
  if (value === undefined || value === Infinity) return Infinity;
  if (!(Number.isSafeInteger(value) && value >= 0)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`${field}\` must be a non-negative integer or Infinity, received ${String(value)}`,
      { field },
    );
  }
  return value;
}

/**
 * Makes a limiter of concurrent streams, overall and per key, to pass as an endpoint's `limiter`
 * option (one limiter may serve many endpoints). A refused request gets `429 Too Many Requests`
 * with `Retry-After`, before any stream byte; other keys are unaffected.
 *
 * @throws {@link SseError} `INVALID_OPTION` naming the option.
 *
 * @example Five streams per IP, 10,000 in all
 * ```ts
 * import { createLimiter } from 'ssekit';
 *
 * const limiter = createLimiter<{ ip?: string }>({ max: 10_000, perKey: 5, key: (req) => req.ip });
 * const release = limiter.acquire({ ip: '203.0.113.7' }); // undefined once that IP has 5 open
 * release?.();
 * ```
 */
export function createLimiter<R = unknown>(options: LimiterOptions<R> = {}): StreamLimiter<R> {
  const max = limit('max', options.max);
  const perKey = limit('perKey', options.perKey);
  const { key, retryAfter = 1 } = options;
  if (key !== undefined && typeof key !== 'function') {
    throw new SseError('INVALID_OPTION', '`key` must be a function', { field: 'key' });
  }
  if (perKey !== Infinity && key === undefined) {
    throw new SseError('INVALID_OPTION', '`perKey` needs a `key` function', { field: 'key' });
  }
  if (!(Number.isSafeInteger(retryAfter) && retryAfter >= 0)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`retryAfter\` must be a non-negative integer number of seconds, received ${String(retryAfter)}`,
      { field: 'retryAfter' },
    );
  }
  const byKey = new Map<string, number>();
  let active = 0;
  return {
    retryAfter,
    get active() {
      return active;
    },
    count: (name) => byKey.get(name) ?? 0,
    acquire(request) {
      if (active >= max) return undefined;
      const name = perKey === Infinity ? undefined : key?.(request);
      const held = name === undefined ? 0 : (byKey.get(name) ?? 0);
      if (held >= perKey) return undefined;
      active++;
      if (name !== undefined) byKey.set(name, held + 1);
      let released = false;
      return function release() {
        if (released) return;
        released = true;
        active--;
        if (name === undefined) return;
        const left = (byKey.get(name) ?? 1) - 1;
        if (left === 0) byKey.delete(name);
        else byKey.set(name, left);
      };
    },
  };
}

/** Why a stream was ended by a limit: the `reason` of the `ssekit.limit` event's data. */
export type LimitReason = 'max_lifetime' | 'max_idle';

function endAtLimit(run: StreamRun, reason: LimitReason): void {
  run.end(
    new SseError(
      'STREAM_LIMIT',
      `the stream reached its ${reason === 'max_idle' ? 'maxIdle' : 'maxLifetime'}`,
      {
        field: reason === 'max_idle' ? 'maxIdle' : 'maxLifetime',
      },
    ),
    { event: 'ssekit.limit', data: { reason } },
  );
}

/** Idle checks per `maxIdle`: a stream ends at most two checks (a quarter of it) past the limit. */
const IDLE_CHECKS = 8;

class TimeLimits implements StreamProbe {
  readonly run: StreamRun;
  readonly maxIdle: number;
  lifetime: ReturnType<typeof setTimeout> | undefined;
  idle: ReturnType<typeof setTimeout> | undefined;
  // The hot path only counts; the clock is read by the idle check, a few times per `maxIdle`.
  active = 0;
  seen = 0;
  quietSince: number;

  constructor(run: StreamRun, maxLifetime: number, maxIdle: number) {
    this.run = run;
    this.maxIdle = maxIdle;
    this.quietSince = maxIdle === 0 ? 0 : Date.now();
    this.lifetime =
      maxLifetime === 0 ? undefined : setTimeout(endAtLimit, maxLifetime, run, 'max_lifetime');
    this.idle = maxIdle === 0 ? undefined : setTimeout(checkIdle, this.step(), this);
  }

  step(): number {
    return Math.max(1, Math.ceil(this.maxIdle / IDLE_CHECKS));
  }

  frame(kind: string): void {
    // Heartbeats and ssekit's own frames do not make a stream active.
    if (kind === 'event' || kind === 'comment') this.active++;
  }

  checkIdle(): void {
    this.idle = undefined;
    const now = Date.now();
    if (this.active !== this.seen) {
      this.seen = this.active;
      this.quietSince = now;
    } else if (now - this.quietSince >= this.maxIdle) {
      return endAtLimit(this.run, 'max_idle');
    }
    this.idle = setTimeout(checkIdle, this.step(), this);
  }

  end(): void {
    if (this.lifetime !== undefined) clearTimeout(this.lifetime);
    if (this.idle !== undefined) clearTimeout(this.idle);
    this.lifetime = this.idle = undefined;
  }
}

function checkIdle(limits: TimeLimits): void {
  limits.checkIdle();
}

/**
 * Makes the probe factory that ends streams at `maxLifetime` or `maxIdle` milliseconds (0: no
 * such limit), for `StreamConfig.observe`.
 * @internal
 */
export function timeLimits(
  maxLifetime: number,
  maxIdle: number,
): ((run: StreamRun) => StreamProbe) | undefined {
  if (maxLifetime === 0 && maxIdle === 0) return undefined;
  return (run) => new TimeLimits(run, maxLifetime, maxIdle);
}

/** A request refused before any stream byte: `503` while the server drains, `429` at a limit. */
export interface Refusal {
  /** The status to answer with. */
  readonly status: 429 | 503;
  /** The `Retry-After`, in seconds. */
  readonly retryAfter: number;
}

/**
 * Admits a request to stream on `scope` (the server that accepted it, or `null` where that is
 * unknown): a {@link Refusal} while a drain covers it or at the limiter's limit; else the
 * limiter's {@link Release} to call when the stream has ended (`undefined` without a limiter).
 * What every adapter checks before it starts a stream.
 *
 * @example In an adapter, before the stream commits
 * ```ts
 * import { admit, createLimiter, isRefusal, refusalHeaders } from 'ssekit';
 *
 * const limiter = createLimiter({ max: 100 });
 * const admission = admit({}, limiter, null);
 * if (isRefusal(admission)) {
 *   const { body, headers } = refusalHeaders(admission);
 *   new Response(body, { status: admission.status, headers });
 * } else admission?.(); // when the stream has ended
 * ```
 */
export function admit<R>(
  request: R,
  limiter: StreamLimiter<R> | undefined,
  scope: object | null,
): Release | Refusal | undefined {
  const draining = drainRetryAfter(scope);
  if (draining !== undefined) return { status: 503, retryAfter: draining };
  if (limiter === undefined) return undefined;
  return limiter.acquire(request) ?? { status: 429, retryAfter: limiter.retryAfter };
}

/**
 * Whether {@link admit} refused.
 *
 * @example Telling a refusal from a slot
 * ```ts
 * import { admit, isRefusal } from 'ssekit';
 *
 * isRefusal(admit({}, undefined, null)); // false while nothing drains
 * ```
 */
export function isRefusal(admission: Release | Refusal | undefined): admission is Refusal {
  return typeof admission === 'object';
}

/** What {@link refusalHeaders} returns: a refusal's response body and headers. */
export interface RefusalResponse {
  /** A short plain-text body: the status's reason phrase. */
  readonly body: string;
  /** `retry-after`, `content-type: text/plain; charset=utf-8` and `cache-control: no-store`. */
  readonly headers: Record<string, string>;
}

/**
 * The body and headers of a refusal's response: `Retry-After`, plain text, not cached.
 *
 * @example A 429
 * ```ts
 * import { refusalHeaders } from 'ssekit';
 *
 * refusalHeaders({ status: 429, retryAfter: 1 }).headers['retry-after']; // '1'
 * ```
 */
export function refusalHeaders(refusal: Refusal): RefusalResponse {
  const body = refusal.status === 503 ? 'Service Unavailable' : 'Too Many Requests';
  return {
    body,
    headers: {
      'retry-after': String(refusal.retryAfter),
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    },
  };
}
