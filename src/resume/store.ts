// STORE INTERFACE READY
/**
 * The one store interface of resumable streams, and the types a store exchanges with
 * `createResumable`. A store keeps, per stream id, the current generation's meta and its log of
 * events; the memory store (`memoryStore()`) is the reference implementation and every store runs
 * the same conformance suite (`test/resume/store-conformance.ts`).
 *
 * Vocabulary: a *stream id* is chosen by the app (a chat id); a *generation* (`gen`, 1–32 chars of
 * `[A-Za-z0-9_-]`, random per start) is one run of a producer under that id; every event of a
 * generation has a `seq`, a decimal integer from 1, gap-free. The wire id is `<gen>.<seq>`.
 * @module
 */

/** What a generation is doing: `live` while its producer runs, then one terminal state. */
export type StreamState = 'live' | 'done' | 'error' | 'stopped' | 'lost';

/**
 * How a generation ended: `done` (the producer finished), `error` (it failed), `stopped` (a stop
 * request, or replaced by a new start), `lost` (its producer stopped renewing its lease: the
 * process died, or the generation expired while followed).
 */
export type TerminalState = Exclude<StreamState, 'live'>;

/**
 * Reason codes a store or `createResumable` records with a terminal state. Apps may record their
 * own (any `[a-z_]+` string); these are the ones ssekit writes.
 *
 * - `producer_lost`: the lease lapsed (state `lost`).
 * - `expired`: the generation was deleted while a reader followed it (state `lost`).
 * - `stopped`: a stop request (state `stopped`).
 * - `replaced`: a start with `ifRunning: 'replace'` (state `stopped`).
 * - `detached`: no reader came back within `continueForMs` (state `stopped`).
 * - `internal_error`: the producer threw (state `error`).
 * - `store_unavailable`: an append failed (state `error`).
 */
export type ReasonCode =
  | 'producer_lost'
  | 'expired'
  | 'stopped'
  | 'replaced'
  | 'detached'
  | 'internal_error'
  | 'store_unavailable'
  | (string & {});

/** One event of a generation, as stored. */
export interface StoredEvent {
  /** Its sequence number in the generation: 1, 2, 3… with no gap. */
  readonly seq: number;
  /**
   * A string (sent as it is) or a JSON value (sent as compact JSON). Must survive
   * `JSON.parse(JSON.stringify(data))` unchanged: a store may serialise it, and the memory store
   * keeps the value `createResumable` normalised that way.
   */
  readonly data: unknown;
  /** The `event:` name, when the producer gave one. */
  readonly event?: string | undefined;
}

/** What a store knows about a stream id's current generation. */
export interface StreamMeta {
  /** The app's stream id. */
  readonly streamId: string;
  /** The generation: 1–32 chars of `[A-Za-z0-9_-]`. */
  readonly gen: string;
  /** `live`, or how the generation ended. */
  readonly state: StreamState;
  /** The seq of the last stored event; `0` before the first. */
  readonly lastSeq: number;
  /**
   * The seq of the oldest retained event; `lastSeq + 1` when none is retained. A cursor `seq`
   * can be honoured when `firstSeq - 1 <= seq <= lastSeq`.
   */
  readonly firstSeq: number;
  /** The tags given at creation (e.g. `{ userId }` for `authorize`). */
  readonly tags: Readonly<Record<string, string>>;
  /** The reason code of a terminal state ({@link ReasonCode}); `undefined` while live. */
  readonly reason: string | undefined;
  /** The {@link ResumeStore.instanceId} of the store that created the generation (its producer). */
  readonly owner: string;
  /** When the generation was created (ms since the epoch). */
  readonly createdAt: number;
  /** When the generation last changed: an append or its finalize (ms since the epoch). */
  readonly updatedAt: number;
}

/**
 * What a start does when the stream id has a live generation whose producer holds its lease:
 * `join` it (become a reader), answer `conflict`, or `replace` it (finalize it `stopped` with
 * reason `replaced`, ask its producer to stop, and create a new generation). A live generation
 * whose lease has lapsed is finalized `lost` and replaced, whatever this says.
 */
export type IfRunning = 'join' | 'conflict' | 'replace';

/** Arguments of {@link ResumeStore.create}. */
export interface CreateInput {
  /** The new generation's id, if one is created (the caller makes it random). */
  readonly gen: string;
  /** What to do when a live generation holds the stream id. */
  readonly ifRunning: IfRunning;
  /** Tags kept in the meta (strings only). @defaultValue `{}` */
  readonly tags?: Readonly<Record<string, string>> | undefined;
}

/**
 * The outcome of {@link ResumeStore.create}: `producer` (a new generation was created; `meta` is
 * it, lease held by this instance), `follower` (`ifRunning: 'join'` and a generation is running:
 * `meta` is that one), `conflict` (`ifRunning: 'conflict'` and one is running: `meta` is that
 * one; nothing changed).
 */
export type CreateResult =
  | {
      /** A new generation was created; this instance holds its lease. */
      readonly role: 'producer';
      /** The new generation. */
      readonly meta: StreamMeta;
    }
  | {
      /** A generation runs and the policy is `join`. */
      readonly role: 'follower';
      /** The running generation. */
      readonly meta: StreamMeta;
    }
  | {
      /** A generation runs and the policy is `conflict`; nothing changed. */
      readonly role: 'conflict';
      /** The running generation. */
      readonly meta: StreamMeta;
    };

/** How a generation ended, as told to a reader in the last {@link ReadBatch}. */
export interface StreamEnd {
  /** The terminal state. */
  readonly state: TerminalState;
  /** Its reason code, when there is one. */
  readonly reason: string | undefined;
}

/**
 * What a read yields: events in seq order (possibly none), and, on the last batch only, how the
 * generation ended. After a batch with `end` the read finishes.
 */
export interface ReadBatch {
  /** The next events after the reader's cursor, in order, none skipped, none repeated. */
  readonly events: readonly StoredEvent[];
  /** Set on the last batch: the generation has ended and `events` held its last events. */
  readonly end?: StreamEnd | undefined;
}

/** Options of {@link ResumeStore.read}. */
export interface ReadOptions {
  /** Ends the read (the iterator finishes, without an `end`). @defaultValue none */
  readonly signal?: AbortSignal | undefined;
  /**
   * The most live events queued for this reader while it does not take them. Past it the reader
   * is cut: its queue is freed and its next `next()` throws `READER_OVERFLOW`; it resumes from the
   * last seq it took. History is read in pages from the log and does not count.
   * @defaultValue the store's `readerLimit`
   */
  readonly limit?: number | undefined;
}

/** What a lease renewal reports to the producer. */
export interface RenewResult {
  /** A stop was requested for this generation (the durable flag, read on every renewal). */
  readonly stop: boolean;
  /**
   * Readers attached through {@link ResumeStore.read} on any instance, as far as the store knows
   * (a store may count a reader that left up to `leaseMs` ago). The producer adds its own local
   * readers to decide when nobody is reading.
   */
  readonly readers: number;
}

/**
 * Retention of a store: how much each stream keeps and for how long. Shared by every store so the
 * names and defaults are the same.
 */
export interface RetentionOptions {
  /**
   * The most events kept per generation; older ones are trimmed (`firstSeq` advances) and a cursor
   * before them gets a `trimmed` reset.
   * @defaultValue `10000`
   */
  maxEvents?: number | undefined;
  /**
   * Milliseconds a finished generation (meta and log) is kept after its finalize, for late
   * resumes; then it is deleted and a resume gets `204`.
   * @defaultValue `900000` (15 min)
   */
  afterDoneMs?: number | undefined;
  /**
   * Milliseconds a live generation is kept without an append; then it is deleted (its producer's
   * next append is fenced, its readers end with `lost`/`expired`).
   * @defaultValue `600000` (10 min)
   */
  idleMs?: number | undefined;
}

/** Options every store takes (a store may add its own). */
export interface StoreOptions {
  /** See {@link RetentionOptions}. @defaultValue the defaults there */
  retention?: RetentionOptions | undefined;
  /**
   * Milliseconds a producer's lease lasts; the producer renews it every `leaseMs / 3`. A reader
   * that sees a live generation whose lease has not been renewed for `leaseMs` finalizes it
   * `lost`, so followers of a dead producer end within about `2 × leaseMs`.
   * @defaultValue `3000`
   */
  leaseMs?: number | undefined;
  /** The default {@link ReadOptions.limit}: live events queued per reader. @defaultValue `1024` */
  readerLimit?: number | undefined;
}

/**
 * The store behind resumable streams: one small interface (create, append, finalize, meta, read,
 * renew, stop, close), implemented by `memoryStore()` and the Redis store and held to one
 * conformance suite. Every method may reject with an `SseError` `STORE_UNAVAILABLE` when the
 * backend cannot be reached; none throws synchronously.
 *
 * @example The life of a generation, on the memory store
 * ```ts
 * import { memoryStore } from 'ssekit/resume';
 *
 * const store = memoryStore();
 * const { role, meta } = await store.create('chat-1', { gen: 'g1', ifRunning: 'join' });
 * // role: 'producer', meta.lastSeq: 0
 * await store.append('chat-1', 'g1', [{ seq: 1, data: 'Hel' }, { seq: 2, data: 'lo' }]);
 * await store.finalize('chat-1', 'g1', { state: 'done', reason: undefined });
 * for await (const batch of store.read('chat-1', 'g1', 0)) {
 *   // one or more batches: events 1 and 2, then `end: { state: 'done' }`
 * }
 * await store.close();
 * ```
 */
export interface ResumeStore {
  /**
   * This store instance's id (random per instance): the `owner` of the generations it creates,
   * and the address stop requests for them are sent to.
   */
  readonly instanceId: string;
  /** The producer lease in milliseconds ({@link StoreOptions.leaseMs}). */
  readonly leaseMs: number;

  /**
   * Starts a generation under `streamId`, or joins or reports the one running (fencing: two
   * concurrent creates of one id give exactly one `producer`). A new generation starts `live` with
   * `lastSeq: 0`, the lease held by this instance for `leaseMs`; any previous generation of the id
   * (finished, lapsed or replaced) and its log are dropped.
   * @param streamId - the app's id (any non-empty string)
   * @param input - the new `gen`, the `ifRunning` policy and tags
   */
  create(streamId: string, input: CreateInput): Promise<CreateResult>;

  /**
   * Appends one batch of events: one call per coalesced flush of the producer. Write-ahead:
   * resolves once the events are stored (readable by any instance) and the store's own readers
   * have been fed. Seqs must continue `lastSeq` without a gap; events with a seq `<= lastSeq` are
   * taken as a retry of a stored append and skipped. Refreshes the idle TTL and trims to
   * `maxEvents`.
   * @throws `SseError` `STORE_FENCED` (rejected) when `gen` is not the stream's current
   *   generation or is no longer `live`: the caller is a stale producer and must stop.
   * @throws `RangeError` (rejected) for an empty batch or a seq gap.
   */
  append(streamId: string, gen: string, events: readonly StoredEvent[]): Promise<void>;

  /**
   * Ends a live generation with a terminal state and reason; readers get it as the `end` of their
   * last batch, after every stored event. Starts the `afterDoneMs` TTL. Idempotent and fenced:
   * resolves `false`, changing nothing, when `gen` is not current or already ended.
   * @returns whether this call ended the generation
   */
  finalize(streamId: string, gen: string, end: StreamEnd): Promise<boolean>;

  /** The current generation's meta, or `undefined` when the stream id is unknown or expired. */
  meta(streamId: string): Promise<StreamMeta | undefined>;

  /**
   * Reads generation `gen` from cursor `after` (a seq: the events after it): the retained history
   * first, then the live tail, from ONE cursor, so the handover has no gap and no duplicate.
   * Finishes after the batch carrying `end`. While it waits on a live generation whose lease has
   * lapsed for `leaseMs`, the store finalizes it `lost` (`producer_lost`) and ends the read with
   * that. The reader counts in {@link RenewResult.readers} while the read is open.
   *
   * The iterator throws `SseError` `READER_OVERFLOW` when the reader fell behind (its live queue
   * passed `limit`, or events it had not taken were trimmed), `GENERATION_GONE` when `gen` is not
   * (or no longer) the stream's generation before its end was read (expired without readers,
   * replaced, deleted, or the store lost its data), `STORE_UNAVAILABLE` on a backend fault, and a
   * `RangeError` when `after` is negative, not an integer, or beyond `lastSeq`.
   */
  read(
    streamId: string,
    gen: string,
    after: number,
    options?: ReadOptions,
  ): AsyncIterable<ReadBatch>;

  /**
   * Renews the producer's lease for `leaseMs` and reports a pending stop request and the
   * readers. Called by the producer every `leaseMs / 3`.
   * @throws `SseError` `STORE_FENCED` (rejected) when `gen` is not current or not live.
   */
  renew(streamId: string, gen: string): Promise<RenewResult>;

  /**
   * Asks the producer of the stream's live generation to stop, on whichever instance it runs: sets
   * a durable stop flag (seen by its next {@link renew}) and notifies its owner's
   * {@link onStop} listeners. The producer then aborts and finalizes `stopped`. Idempotent; safe for
   * unknown or finished ids (nothing changes).
   * @returns the meta at the time of the request, or `undefined` for an unknown id
   */
  requestStop(streamId: string): Promise<StreamMeta | undefined>;

  /**
   * Listens for stop requests addressed to this instance (generations it owns). The listener runs
   * once per request, asynchronously; a request made while no listener was attached is still seen
   * by the producer's next {@link renew}.
   * @returns a function that removes the listener
   */
  onStop(listener: (streamId: string, gen: string) => void): () => void;

  /**
   * Releases the store's timers and connections. Open reads throw `STORE_UNAVAILABLE`; later calls
   * reject with it. A client passed in by the app is not closed.
   */
  close(): Promise<void>;
}
