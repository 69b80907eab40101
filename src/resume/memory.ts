/**
 * The memory store: the reference {@link ResumeStore} and the embedded default. One process, no
 * setup; bounded per stream (`maxEvents`, TTLs with unref'd timers) and per reader (a live queue
 * of `readerLimit` events).
 * @module
 */
import { SseError } from '../errors.js';
import {
  isGeneration,
  newGeneration,
  resolveStoreOptions,
  type StoreConfig,
  unref,
} from './config.js';
import { ReaderQueue } from './queue.js';
import type {
  CreateInput,
  CreateResult,
  ReadBatch,
  ReadOptions,
  RenewResult,
  ResumeStore,
  StoredEvent,
  StoreOptions,
  StreamEnd,
  StreamMeta,
  StreamState,
} from './store.js';

/** History is handed to a reader in pages of this many events. */
const PAGE = 512;

type MutableMeta = { -readonly [K in keyof StreamMeta]: StreamMeta[K] };

/** One stream id's current generation. */
interface Entry {
  meta: MutableMeta;
  /** Retained events: `log[head]` has seq `meta.firstSeq`. */
  log: StoredEvent[];
  head: number;
  leaseUntil: number;
  stop: boolean;
  /** Every open read (history or tail). */
  readers: Set<MemoryReader>;
  /** Reads caught up with the log, fed by appends. */
  tails: Set<ReaderQueue>;
  /** When the entry expires (idle TTL while live, afterDone once finished). */
  expiresAt: number;
  expiry: ReturnType<typeof setTimeout> | undefined;
  leaseCheck: ReturnType<typeof setTimeout> | undefined;
}

/** Runs a synchronous store operation as the interface's promise (a throw becomes a rejection). */
function settle<R>(operation: () => R): Promise<R> {
  return new Promise<R>((resolve) => resolve(operation()));
}

const snapshot = (meta: MutableMeta): StreamMeta => ({ ...meta, tags: { ...meta.tags } });

function checkId(streamId: unknown): void {
  if (typeof streamId !== 'string' || streamId === '') {
    throw new TypeError(`\`streamId\` must be a non-empty string, received ${String(streamId)}`);
  }
}

/**
 * Makes an in-process {@link ResumeStore}: the default of `createResumable` and the reference
 * every store is tested against. Streams live as long as the process (or their TTLs); use the
 * Redis store to resume on other instances.
 *
 * @throws `SseError` `INVALID_OPTION` naming a bad option.
 *
 * @example A store for tests, with short retention
 * ```ts
 * import { createResumable, memoryStore } from 'ssekit/resume';
 *
 * const resumable = createResumable({
 *   store: memoryStore({ retention: { maxEvents: 1000, afterDoneMs: 60_000 }, leaseMs: 1000 }),
 * });
 * ```
 */
export function memoryStore(options: StoreOptions = {}): ResumeStore {
  return new MemoryStore(resolveStoreOptions(options));
}

class MemoryStore implements ResumeStore {
  readonly instanceId = newGeneration();
  readonly leaseMs: number;
  readonly config: StoreConfig;
  readonly entries = new Map<string, Entry>();
  readonly stopListeners = new Set<(streamId: string, gen: string) => void>();
  closed = false;

  constructor(config: StoreConfig) {
    this.config = config;
    this.leaseMs = config.leaseMs;
  }

  #check(): void {
    if (this.closed) throw new SseError('STORE_UNAVAILABLE', 'the memory store was closed');
  }

  create(streamId: string, input: CreateInput): Promise<CreateResult> {
    return settle(() => this.#createNow(streamId, input));
  }

  #createNow(streamId: string, input: CreateInput): CreateResult {
    this.#check();
    checkId(streamId);
    const { gen, ifRunning, tags = {} } = input;
    if (!isGeneration(gen)) {
      throw new RangeError(`\`gen\` must be 1-32 chars of [A-Za-z0-9_-], received ${String(gen)}`);
    }
    if (!['join', 'conflict', 'replace'].includes(ifRunning)) {
      throw new RangeError(
        `\`ifRunning\` must be 'join', 'conflict' or 'replace', received ${String(ifRunning)}`,
      );
    }
    const now = Date.now();
    const current = this.entries.get(streamId);
    if (current !== undefined && current.meta.state === 'live') {
      if (current.leaseUntil <= now) {
        this.#end(current, { state: 'lost', reason: 'producer_lost' });
      } else if (ifRunning === 'join') {
        return { role: 'follower', meta: snapshot(current.meta) };
      } else if (ifRunning === 'conflict') {
        return { role: 'conflict', meta: snapshot(current.meta) };
      } else {
        this.#end(current, { state: 'stopped', reason: 'replaced' });
        this.#notifyStop(streamId, current.meta.gen);
      }
    }
    if (current !== undefined) this.#drop(streamId, current);
    const entry: Entry = {
      meta: {
        streamId,
        gen,
        state: 'live',
        lastSeq: 0,
        firstSeq: 1,
        tags: { ...tags },
        reason: undefined,
        owner: this.instanceId,
        createdAt: now,
        updatedAt: now,
      },
      log: [],
      head: 0,
      leaseUntil: now + this.leaseMs,
      stop: false,
      readers: new Set(),
      tails: new Set(),
      expiresAt: now + this.config.idleMs,
      expiry: undefined,
      leaseCheck: undefined,
    };
    this.entries.set(streamId, entry);
    this.#armExpiry(streamId, entry);
    return { role: 'producer', meta: snapshot(entry.meta) };
  }

  #live(streamId: string, gen: string, action: string): Entry {
    const entry = this.entries.get(streamId);
    if (entry === undefined || entry.meta.gen !== gen || entry.meta.state !== 'live') {
      throw new SseError(
        'STORE_FENCED',
        `${action} refused: generation ${gen} of stream ${JSON.stringify(streamId)} is not the live one`,
      );
    }
    return entry;
  }

  append(streamId: string, gen: string, events: readonly StoredEvent[]): Promise<void> {
    return settle(() => this.#appendNow(streamId, gen, events));
  }

  #appendNow(streamId: string, gen: string, events: readonly StoredEvent[]): void {
    this.#check();
    const entry = this.#live(streamId, gen, 'append');
    if (typeof events !== 'object' || events === null || events.length === 0) {
      throw new RangeError('`events` must be a non-empty array');
    }
    const { meta } = entry;
    // The events are kept as given (the store's readers get these objects; a caller must not
    // change them after the append): one allocation less per event on the hot path.
    let fresh: readonly StoredEvent[] = events;
    let skip = 0;
    while (skip < events.length && (events[skip] as StoredEvent).seq <= meta.lastSeq) skip++;
    if (skip > 0) fresh = events.slice(skip); // a retry of a stored append
    for (let i = 0; i < fresh.length; i++) {
      const seq = (fresh[i] as StoredEvent).seq;
      if (seq !== meta.lastSeq + i + 1) {
        throw new RangeError(
          `seq ${seq} does not follow ${meta.lastSeq + i}: a batch must continue the log without a gap`,
        );
      }
    }
    if (fresh.length === 0) return;
    for (const event of fresh) entry.log.push(event);
    meta.lastSeq += fresh.length;
    const now = Date.now();
    meta.updatedAt = now;
    entry.expiresAt = now + this.config.idleMs;
    this.#trim(entry);
    for (const tail of entry.tails) {
      if (!tail.push(fresh)) entry.tails.delete(tail);
    }
  }

  #trim(entry: Entry): void {
    const retained = entry.log.length - entry.head;
    const excess = retained - this.config.maxEvents;
    if (excess > 0) {
      entry.head += excess;
      entry.meta.firstSeq += excess;
    }
    // Compact once the dead prefix is half the array: amortised O(1) per event.
    if (entry.head > 1024 && entry.head * 2 > entry.log.length) {
      entry.log = entry.log.slice(entry.head);
      entry.head = 0;
    }
  }

  finalize(streamId: string, gen: string, end: StreamEnd): Promise<boolean> {
    return settle(() => this.#finalizeNow(streamId, gen, end));
  }

  #finalizeNow(streamId: string, gen: string, end: StreamEnd): boolean {
    this.#check();
    const entry = this.entries.get(streamId);
    if (entry === undefined || entry.meta.gen !== gen || entry.meta.state !== 'live') return false;
    this.#end(entry, end);
    return true;
  }

  /** Ends a live entry: readers get `end` after what they have; the afterDone TTL starts. */
  #end(entry: Entry, end: StreamEnd): void {
    const state: StreamState = end.state;
    if (!['done', 'error', 'stopped', 'lost'].includes(state)) {
      throw new RangeError(`\`state\` must be a terminal state, received ${String(state)}`);
    }
    const now = Date.now();
    entry.meta.state = state;
    entry.meta.reason = end.reason;
    entry.meta.updatedAt = now;
    entry.expiresAt = now + this.config.afterDoneMs;
    if (entry.leaseCheck !== undefined) clearTimeout(entry.leaseCheck);
    entry.leaseCheck = undefined;
    for (const tail of entry.tails) tail.end({ state, reason: end.reason });
    entry.tails.clear();
    // The afterDone TTL may be shorter than what is left of the idle one.
    if (entry.expiry !== undefined) {
      clearTimeout(entry.expiry);
      this.#armExpiry(entry.meta.streamId, entry);
    }
  }

  meta(streamId: string): Promise<StreamMeta | undefined> {
    return settle(() => this.#metaNow(streamId));
  }

  #metaNow(streamId: string): StreamMeta | undefined {
    this.#check();
    checkId(streamId);
    const entry = this.entries.get(streamId);
    return entry === undefined ? undefined : snapshot(entry.meta);
  }

  read(
    streamId: string,
    gen: string,
    after: number,
    options: ReadOptions = {},
  ): AsyncIterable<ReadBatch> {
    const limit = options.limit ?? this.config.readerLimit;
    return {
      [Symbol.asyncIterator]: () =>
        new MemoryReader(this, streamId, gen, after, limit, options.signal),
    };
  }

  /** For a reader: the entry of `gen`, or the reason it cannot be read. */
  entryOf(streamId: string, gen: string): Entry {
    this.#check();
    const entry = this.entries.get(streamId);
    if (entry === undefined || entry.meta.gen !== gen) {
      throw new SseError(
        'GENERATION_GONE',
        `generation ${gen} of stream ${JSON.stringify(streamId)} is no longer in the store`,
      );
    }
    return entry;
  }

  /** Arms the entry's lease check while readers wait on it. */
  watchLease(streamId: string, entry: Entry): void {
    if (entry.leaseCheck !== undefined || entry.meta.state !== 'live') return;
    const delay = Math.max(1, entry.leaseUntil - Date.now() + 1);
    entry.leaseCheck = setTimeout(() => {
      entry.leaseCheck = undefined;
      if (this.entries.get(streamId) !== entry || entry.meta.state !== 'live') return;
      if (entry.leaseUntil <= Date.now())
        this.#end(entry, { state: 'lost', reason: 'producer_lost' });
      else if (entry.tails.size > 0) this.watchLease(streamId, entry);
    }, delay);
    unref(entry.leaseCheck);
  }

  renew(streamId: string, gen: string): Promise<RenewResult> {
    return settle(() => this.#renewNow(streamId, gen));
  }

  #renewNow(streamId: string, gen: string): RenewResult {
    this.#check();
    const entry = this.#live(streamId, gen, 'renew');
    entry.leaseUntil = Date.now() + this.leaseMs;
    return { stop: entry.stop, readers: entry.readers.size };
  }

  requestStop(streamId: string): Promise<StreamMeta | undefined> {
    return settle(() => this.#requestStopNow(streamId));
  }

  #requestStopNow(streamId: string): StreamMeta | undefined {
    this.#check();
    checkId(streamId);
    const entry = this.entries.get(streamId);
    if (entry === undefined) return undefined;
    if (entry.meta.state === 'live' && !entry.stop) {
      entry.stop = true;
      this.#notifyStop(streamId, entry.meta.gen);
    }
    return snapshot(entry.meta);
  }

  #notifyStop(streamId: string, gen: string): void {
    for (const listener of this.stopListeners) {
      queueMicrotask(() => listener(streamId, gen));
    }
  }

  onStop(listener: (streamId: string, gen: string) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('`listener` must be a function');
    this.stopListeners.add(listener);
    return () => this.stopListeners.delete(listener);
  }

  #armExpiry(streamId: string, entry: Entry): void {
    const delay = Math.max(1, entry.expiresAt - Date.now());
    entry.expiry = setTimeout(() => {
      entry.expiry = undefined;
      if (this.entries.get(streamId) !== entry) return;
      if (Date.now() < entry.expiresAt) return this.#armExpiry(streamId, entry);
      if (entry.meta.state === 'live') this.#end(entry, { state: 'lost', reason: 'expired' });
      this.#drop(streamId, entry);
    }, delay);
    unref(entry.expiry);
  }

  #drop(streamId: string, entry: Entry): void {
    if (entry.expiry !== undefined) clearTimeout(entry.expiry);
    if (entry.leaseCheck !== undefined) clearTimeout(entry.leaseCheck);
    entry.expiry = entry.leaseCheck = undefined;
    if (this.entries.get(streamId) === entry) this.entries.delete(streamId);
  }

  close(): Promise<void> {
    return settle(() => this.#closeNow());
  }

  #closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    const error = new SseError('STORE_UNAVAILABLE', 'the memory store was closed');
    for (const [streamId, entry] of this.entries) {
      for (const reader of entry.readers) reader.fail(error);
      this.#drop(streamId, entry);
    }
    this.stopListeners.clear();
  }
}

/** One read: pages of history from the log, then a {@link ReaderQueue} fed by appends. */
class MemoryReader implements AsyncIterator<ReadBatch, undefined> {
  readonly store: MemoryStore;
  readonly streamId: string;
  readonly gen: string;
  readonly limit: number;
  readonly signal: AbortSignal | undefined;
  cursor: number;
  tail: ReaderQueue | undefined = undefined;
  entry: Entry | undefined = undefined;
  error: unknown = undefined;
  done = false;
  readonly onAbort = (): void => {
    void this.return();
  };

  constructor(
    store: MemoryStore,
    streamId: string,
    gen: string,
    after: number,
    limit: number,
    signal: AbortSignal | undefined,
  ) {
    this.store = store;
    this.streamId = streamId;
    this.gen = gen;
    this.cursor = after;
    this.limit = limit;
    this.signal = signal;
    if (!(Number.isSafeInteger(limit) && limit > 0)) {
      this.error = new RangeError(
        `\`limit\` must be a positive integer, received ${String(limit)}`,
      );
    } else if (!(Number.isSafeInteger(after) && after >= 0)) {
      this.error = new RangeError(
        `\`after\` must be a non-negative integer seq, received ${String(after)}`,
      );
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  fail(error: unknown): void {
    this.error ??= error;
    this.tail?.fail(error);
  }

  #attach(entry: Entry): void {
    if (this.entry !== undefined) return;
    this.entry = entry;
    entry.readers.add(this);
  }

  #finish(): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.entry?.readers.delete(this);
    if (this.tail !== undefined) this.entry?.tails.delete(this.tail);
  }

  async next(): Promise<IteratorResult<ReadBatch, undefined>> {
    if (this.done || this.signal?.aborted) {
      this.#finish();
      return { done: true, value: undefined };
    }
    try {
      if (this.error !== undefined) throw this.error as Error;
      if (this.tail !== undefined) {
        const result = await this.tail.next();
        if (result.done) this.#finish();
        else if (result.value.end !== undefined) this.#finish();
        else if (result.value.events.length > 0) {
          this.cursor = (result.value.events.at(-1) as StoredEvent).seq;
        }
        return result;
      }
      const entry = this.store.entryOf(this.streamId, this.gen);
      this.#attach(entry);
      const { meta } = entry;
      if (this.cursor > meta.lastSeq) {
        throw new RangeError(`\`after\` (${this.cursor}) is beyond the last seq (${meta.lastSeq})`);
      }
      if (this.cursor + 1 < meta.firstSeq) {
        throw new SseError(
          'READER_OVERFLOW',
          `events after seq ${this.cursor} were trimmed (the oldest retained is ${meta.firstSeq}); the reader fell behind`,
        );
      }
      const start = entry.head + (this.cursor + 1 - meta.firstSeq);
      const events = entry.log.slice(start, start + PAGE);
      if (events.length > 0) this.cursor = (events.at(-1) as StoredEvent).seq;
      if (this.cursor < meta.lastSeq) return { done: false, value: { events } };
      if (meta.state !== 'live') {
        this.#finish();
        return { done: false, value: { events, end: { state: meta.state, reason: meta.reason } } };
      }
      // Caught up with a live generation: from here appends feed this reader's queue. The store
      // is single-threaded, so nothing can be appended between the page above and this line.
      const tail = new ReaderQueue(this.limit);
      this.tail = tail;
      entry.tails.add(tail);
      this.store.watchLease(this.streamId, entry);
      if (events.length > 0) return { done: false, value: { events } };
      return await this.next();
    } catch (error) {
      this.#finish();
      throw error;
    }
  }

  async return(): Promise<IteratorResult<ReadBatch, undefined>> {
    this.#finish();
    await this.tail?.return();
    return { done: true, value: undefined };
  }
}
