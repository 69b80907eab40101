/**
 * Graceful drain for deploys: one call for all of a process's ssekit streams, or for one server.
 * New streams are refused with `503` and `Retry-After` (before any stream byte) and readiness
 * flips; open streams are ended one after another over a window, each with a `retry:` hint (with
 * jitter) in a terminal `event: ssekit.drain`, so clients reconnect to another instance;
 * registered resumable producers keep running until they finish or the deadline.
 * @module
 */
import { SseError } from './errors.js';
import type { StreamRun } from './stream.js';

/**
 * The server a stream belongs to, as the transport knows it (a Node `http.Server`), or `null`
 * where it cannot know (WHATWG streams): those are drained by a process-wide `drain()` only.
 */
type Scope = object | null;

/** Options of {@link drain}. Durations are in milliseconds. */
export interface DrainOptions {
  /**
   * Drain only this server's streams and refuse new ones on it only (a Node `http.Server`,
   * `https.Server` or `http2` server: the one that accepted the connection).
   * @defaultValue every stream of the process, on every server and runtime
   */
  server?: object | undefined;
  /**
   * The window over which open streams are ended, one after another at an even pace, so their
   * clients do not all reconnect at once. `0` ends them all at once.
   * @defaultValue `10000`
   */
  window?: number | undefined;
  /**
   * When whatever is still open is cut (streams whose clients do not read, and registered
   * producers still running); the promise resolves then at the latest. At least `window`; keep
   * it below the orchestrator's grace period (Kubernetes: `terminationGracePeriodSeconds`).
   * @defaultValue `25000`
   */
  deadline?: number | undefined;
  /**
   * The smallest `retry:` hint sent to each stream before it ends.
   * @defaultValue `1000`
   */
  retry?: number | undefined;
  /**
   * A random 0 to `retryJitter` milliseconds added to each stream's `retry:` hint.
   * @defaultValue `1000`
   */
  retryJitter?: number | undefined;
  /**
   * The `Retry-After` of the `503` that new streams get while draining, in seconds.
   * @defaultValue `1`
   */
  retryAfter?: number | undefined;
}

/** What {@link drain} did, when it resolves. */
export interface DrainResult {
  /** Streams open when the drain began (or opened during it). */
  readonly streams: number;
  /** Streams that finished by themselves before their turn. */
  readonly finished: number;
  /** Streams ended by the drain with `ssekit.drain`. */
  readonly ended: number;
  /** Streams still open at the deadline, cut then. */
  readonly cut: number;
  /** Registered producers that finished before the deadline. */
  readonly producersFinished: number;
  /** Registered producers aborted at the deadline. */
  readonly producersAborted: number;
  /** Milliseconds from the call to the end of the drain. */
  readonly duration: number;
}

/**
 * A long-running producer that a drain must wait for but not cut at once: a resumable stream's
 * generation, which keeps appending to its store after its readers were sent elsewhere.
 * Register it with {@link registerProducer}.
 */
export interface DrainableProducer {
  /** The server it runs for, to be covered by `drain({ server })`. @defaultValue any server */
  readonly server?: object | undefined;
  /**
   * Called when a drain that covers it begins, with the time (milliseconds since the epoch)
   * at which it will be aborted if still running.
   */
  onDrain?(deadline: number): void;
  /**
   * Called at the deadline if it is still running: abort the work and finalize its stream with
   * this reason (an `SseError` `DRAINING`).
   */
  abort(reason: SseError): void;
  /** Settles when the producer has finished and its stream is finalized. */
  readonly done: Promise<unknown>;
}

/** Every stream the transports registered, with its server. */
const live = new Map<StreamRun, Scope>();
/** Registered producers. */
const producers = new Set<DrainableProducer>();
/** The process-wide drain, once `drain()` was called without `server`. */
let everything: Drain | undefined;
/** Drains of single servers. */
const byServer = new Map<object, Drain>();

function drainOf(scope: Scope | undefined): Drain | undefined {
  return everything ?? (scope == null ? undefined : byServer.get(scope));
}

/**
 * Registers a stream with the drain registry; what the transports (`ssekit/node`, the WHATWG
 * stream) do for every stream they start. A stream registered while its server drains is ended
 * at once.
 * @internal
 */
export function track(run: StreamRun, scope: Scope): void {
  live.set(run, scope);
  drainOf(scope)?.add(run);
}

/**
 * Removes an ended stream from the drain registry.
 * @internal
 */
export function untrack(run: StreamRun): void {
  live.delete(run);
}

/**
 * Registers a stream run by a transport of your own (see `SseTransport`) with the drain registry,
 * as `ssekit/node` and the WHATWG stream do for theirs; returns the function that removes it, to
 * call when the stream has ended. `server` is what `drain({ server })` matches.
 *
 * @example A custom transport's stream
 * ```ts
 * import { registerStream, resolveOptions, runStream } from 'ssekit';
 *
 * const transport = { commit() {}, write: () => true, waitForDrain: async () => {}, close() {} };
 * const run = runStream(transport, ['Hello'], resolveOptions());
 * const unregister = registerStream(run);
 * void run.done.then(unregister);
 * ```
 */
export function registerStream(run: StreamRun, server?: object): () => void {
  track(run, server ?? null);
  return () => untrack(run);
}

/**
 * The `Retry-After` (seconds) of the `503` a new stream on `scope` must get while it drains, or
 * `undefined` when it is not draining.
 * @internal
 */
export function drainRetryAfter(scope: Scope): number | undefined {
  return drainOf(scope)?.retryAfter;
}

/**
 * Whether a drain covers `server` (or, without `server`, whether the whole process drains): the
 * readiness signal for a health check, so the load balancer stops sending new streams.
 *
 * @example A readiness probe
 * ```ts
 * import { isDraining } from 'ssekit';
 *
 * const readiness = () => (isDraining() ? 503 : 200);
 * ```
 */
export function isDraining(server?: object): boolean {
  return server === undefined ? everything !== undefined : drainOf(server) !== undefined;
}

/**
 * Registers a producer that a drain waits for until its deadline (see
 * {@link DrainableProducer}); returns the function that unregisters it, to call once it has
 * finished. A producer registered while a drain covers it is told at once.
 *
 * @example A background generation
 * ```ts
 * import { registerProducer } from 'ssekit';
 *
 * const controller = new AbortController();
 * const done = Promise.resolve(); // the generation's end
 * const unregister = registerProducer({ abort: (reason) => controller.abort(reason), done });
 * void done.finally(unregister);
 * ```
 */
export function registerProducer(producer: DrainableProducer): () => void {
  producers.add(producer);
  drainOf(producer.server ?? null)?.addProducer(producer);
  return () => {
    producers.delete(producer);
  };
}

/** The progress of the drains under way, as {@link drainStatus} reports it. */
export interface DrainStatus {
  /** Whether any drain has begun (process-wide or of one server). */
  readonly draining: boolean;
  /** Streams the drains still wait for. */
  readonly open: number;
  /** Registered producers the drains still wait for. */
  readonly producers: number;
  /** Streams the drains have ended (with `ssekit.drain`) or cut so far. */
  readonly ended: number;
}

/**
 * The progress of every drain begun in this process: for a metric or a log line while it runs.
 *
 * @example Logging the progress
 * ```ts
 * import { drainStatus } from 'ssekit';
 *
 * const { draining, open } = drainStatus();
 * if (draining) console.log(`${open} streams left`);
 * ```
 */
export function drainStatus(): DrainStatus {
  const drains = everything ? [everything, ...byServer.values()] : [...byServer.values()];
  let open = 0;
  let waiting = 0;
  let ended = 0;
  for (const drainer of drains) {
    open += drainer.open.size;
    waiting += drainer.running.size;
    ended += drainer.counts.ended + drainer.counts.cut;
  }
  return { draining: drains.length > 0, open, producers: waiting, ended };
}

function option(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= 0 && value <= 2 ** 31 - 1)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`${field}\` must be a non-negative integer up to 2147483647, received ${String(value)}`,
      { field },
    );
  }
  return value;
}

/**
 * Drains the process's ssekit streams, or one server's: refuses new streams with `503` and
 * `Retry-After`, flips {@link isDraining}, ends open streams over `window` (each gets
 * `event: ssekit.drain` with a `retry:` field and data `{"reason":"drain","retry":<ms>}`; formats
 * without fields just end), lets registered producers run until `deadline`, then cuts what is
 * left. Resolves once everything is closed, or at the deadline. A drain cannot be undone; calling
 * it again for the same scope returns the same promise.
 *
 * @throws {@link SseError} `INVALID_OPTION` naming the option.
 *
 * @example On SIGTERM
 * ```ts
 * import { createServer } from 'node:http';
 * import { drain } from 'ssekit';
 *
 * const server = createServer();
 * process.once('SIGTERM', () => {
 *   void drain({ window: 10_000, deadline: 25_000 }).then(() => server.close());
 * });
 * ```
 */
export function drain(options: DrainOptions = {}): Promise<DrainResult> {
  if (typeof options !== 'object' || options === null) {
    throw new SseError('INVALID_OPTION', '`options` must be an object', { field: 'options' });
  }
  const window = option('window', options.window, 10_000);
  const deadline = option('deadline', options.deadline, Math.max(25_000, window));
  if (deadline < window) {
    throw new SseError(
      'INVALID_OPTION',
      `\`deadline\` (${deadline}) must not be shorter than \`window\` (${window})`,
      { field: 'deadline' },
    );
  }
  const settings: Settings = {
    window,
    deadline,
    retry: option('retry', options.retry, 1000),
    retryJitter: option('retryJitter', options.retryJitter, 1000),
    retryAfter: option('retryAfter', options.retryAfter, 1),
  };
  const { server } = options;
  if (server !== undefined && (typeof server !== 'object' || server === null)) {
    throw new SseError('INVALID_OPTION', '`server` must be a server object', { field: 'server' });
  }
  const existing = server === undefined ? everything : byServer.get(server);
  if (existing) return existing.promise;
  const drainer = new Drain(settings, server ?? undefined);
  if (server === undefined) everything = drainer;
  else byServer.set(server, drainer);
  for (const [run, scope] of live) if (drainer.covers(scope)) drainer.add(run);
  for (const producer of producers) {
    if (drainer.covers(producer.server ?? null)) drainer.addProducer(producer);
  }
  drainer.begin();
  return drainer.promise;
}

interface Settings {
  readonly window: number;
  readonly deadline: number;
  readonly retry: number;
  readonly retryJitter: number;
  readonly retryAfter: number;
}

/** Ends one stream with the drain's terminal frame: `event: ssekit.drain` and a `retry:` hint. */
function endForDrain(run: StreamRun, { retry, retryJitter }: Settings): void {
  const hint = retry + Math.floor(Math.random() * (retryJitter + 1));
  run.end(new SseError('DRAINING', 'the server is draining'), {
    event: 'ssekit.drain',
    retry: hint,
    data: { reason: 'drain', retry: hint },
  });
}

const TICK = 10; // the finest pace of the window, in milliseconds

class Drain {
  readonly settings: Settings;
  readonly scope: object | undefined;
  readonly promise: Promise<DrainResult>;
  readonly startedAt = Date.now();
  resolve: (result: DrainResult) => void = () => {};
  readonly queue: StreamRun[] = []; // streams waiting for their turn, oldest first
  readonly open = new Set<StreamRun>();
  readonly running = new Set<DrainableProducer>();
  next = 0; // index in `queue` of the next stream to end
  began = false;
  settled = false;
  timer: ReturnType<typeof setTimeout> | undefined;
  deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  readonly endedRuns = new WeakSet<StreamRun>(); // ended or cut by the drain
  counts = { streams: 0, finished: 0, ended: 0, cut: 0, producersFinished: 0, producersAborted: 0 };

  constructor(settings: Settings, scope: object | undefined) {
    this.settings = settings;
    this.scope = scope;
    this.promise = new Promise((resolve) => (this.resolve = resolve));
  }

  get retryAfter(): number {
    return this.settings.retryAfter;
  }

  covers(scope: Scope): boolean {
    return this.scope === undefined || scope === this.scope;
  }

  add(run: StreamRun): void {
    if (this.open.has(run)) return;
    if (this.settled) return endForDrain(run, this.settings); // nothing waits for it any more
    this.counts.streams++;
    this.open.add(run);
    void run.done.then(() => this.closed(run));
    if (this.began)
      this.end(run); // opened while draining: its turn is now
    else this.queue.push(run);
  }

  addProducer(producer: DrainableProducer): void {
    if (this.settled || this.running.has(producer)) return;
    this.running.add(producer);
    producer.onDrain?.(this.startedAt + this.settings.deadline);
    const settle = (): void => {
      if (!this.running.delete(producer)) return;
      this.counts.producersFinished++;
      this.check();
    };
    producer.done.then(settle, settle);
  }

  begin(): void {
    this.began = true;
    this.deadlineTimer = setTimeout(() => this.cut(), this.settings.deadline);
    this.pace();
    this.check();
  }

  /** Ends as many queued streams as the window's even pace says are due by now. */
  pace(): void {
    this.timer = undefined;
    const { window } = this.settings;
    const total = this.queue.length;
    const elapsed = Date.now() - this.startedAt;
    const due = window === 0 ? total : Math.min(total, Math.ceil((total * elapsed) / window));
    while (this.next < Math.max(due, 1) && this.next < total) {
      this.end(this.queue[this.next++] as StreamRun);
    }
    if (this.next < total) {
      const step = Math.max(TICK, window / total);
      this.timer = setTimeout(() => this.pace(), step);
    }
  }

  end(run: StreamRun): void {
    if (!this.open.has(run)) return; // finished by itself before its turn
    this.counts.ended++;
    this.endedRuns.add(run);
    endForDrain(run, this.settings);
  }

  closed(run: StreamRun): void {
    if (!this.open.delete(run)) return;
    // Not ended by the drain: it finished on its own.
    if (!this.endedRuns.has(run)) this.counts.finished++;
    this.check();
  }

  /** Cuts what is still open at the deadline. */
  cut(): void {
    this.deadlineTimer = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const reason = new SseError('DRAINING', 'the drain reached its deadline');
    for (const run of [...this.open]) {
      this.counts.cut++;
      this.endedRuns.add(run);
      this.open.delete(run);
      run.abort(reason);
    }
    for (const producer of [...this.running]) {
      this.running.delete(producer);
      this.counts.producersAborted++;
      producer.abort(reason);
    }
    this.check();
  }

  check(): void {
    if (this.settled || !this.began) return;
    if (this.open.size > 0 || this.running.size > 0) return;
    this.settled = true;
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.resolve({ ...this.counts, duration: Date.now() - this.startedAt });
  }
}
