/**
 * Resumable streams: `createResumable({ store })` runs each generation detached from any one
 * response. The producer runs on the normal engine with the store's log as its transport (ids
 * `<gen>.<seq>` assigned here, one store append per flush, write-ahead); every reader, the
 * original request included, is a {@link Source} fed from the log, which the app pipes through
 * its adapter (`sendSse`, `toSseResponse`) with the endpoint's own format and options.
 * @module
 */
import { drainRetryAfter, registerProducer } from '../drain.js';
import { isSseError, SseError } from '../errors.js';
import { formatFields, serializeData } from '../format.js';
import { type FormatOption, type FrameFormat, resolveFormat } from '../frames.js';
import { resolveOptions, type SseBatch, sseBatch, type SseEvent, sseEvent } from '../options.js';
import {
  isSource,
  type Producer,
  runStream,
  type Source,
  type SseTransport,
  type StreamRun,
} from '../stream.js';
import { isGeneration, newGeneration, unref } from './config.js';
import { memoryStore } from './memory.js';
import { ReaderQueue } from './queue.js';
import type {
  IfRunning,
  ReadBatch,
  ResumeStore,
  StoredEvent,
  StreamEnd,
  StreamMeta,
} from './store.js';

/** Why a cursor could not be honoured: the `reason` of an `ssekit.reset` event. */
export type ResetReason = 'generation_changed' | 'trimmed' | 'expired' | 'unknown_cursor';

/** Options of {@link createResumable}, resolved once. */
export interface ResumableOptions {
  /** Where generations are kept. @defaultValue `memoryStore()` (one process) */
  store?: ResumeStore | undefined;
  /**
   * Milliseconds a producer goes on after its last reader (on any instance) left, so a reader can
   * come back; then it is aborted through its `AbortSignal` and the generation ends `stopped`
   * (reason `detached`). `0` aborts as soon as the last reader leaves.
   * @defaultValue `60000`
   */
  continueForMs?: number | undefined;
  /**
   * What a resume does after a reset (a cursor that cannot be honoured): `'replay'` sends the
   * generation's retained events from its start, `'end'` ends the response after the reset.
   * @defaultValue `'replay'`
   */
  onGap?: 'replay' | 'end' | undefined;
  /**
   * Decides whether `request` may read `streamId` (its meta's tags say whose it is). Runs before
   * any event is read, on every resume and on a start that joins a running generation; `false`
   * answers `403`. A cursor alone grants nothing.
   * @defaultValue every request may read
   */
  authorize?:
    | ((request: unknown, streamId: string, meta: StreamMeta) => boolean | Promise<boolean>)
    | undefined;
  /**
   * What a start does when the stream id already runs a generation: `'join'` reads it from its
   * start, `'conflict'` answers `409`, `'replace'` stops it and starts anew.
   * @defaultValue `'join'`
   */
  ifRunning?: IfRunning | undefined;
  /**
   * The resume route of a stream id, sent as `SSEKit-Resume-URL` so clients reconnect there with
   * GET (e.g. `(id) => \`/api/chats/${id}/stream\``).
   * @defaultValue none
   */
  resumeUrl?: ((streamId: string) => string) | undefined;
  /**
   * The frame format of the responses, to decide whether the reset signal is also an event
   * (`event: ssekit.reset` needs SSE fields; raw/NDJSON/custom formats get the header only).
   * Start and resume take a `format` of their own too.
   * @defaultValue `'sse'`
   */
  format?: FormatOption | undefined;
  /**
   * The most events a producer may have accepted but not yet stored; a producer that does not
   * await `send()` past it fails with `QUEUE_OVERFLOW`. Producers that await are paused while
   * 512 events wait for the store.
   * @defaultValue `10000`
   */
  maxPending?: number | undefined;
  /**
   * Milliseconds one store append may take; past it the producer fails with
   * `STORE_UNAVAILABLE` and its readers end with `event: error` `{"code":"store_unavailable"}`.
   * @defaultValue `10000`
   */
  storeTimeoutMs?: number | undefined;
  /**
   * The most live events queued for the original request's reader. The producer waits while that
   * reader holds half of it (the original client sets the pace, as without resume); a reader that
   * holds the producer back for 2 s, or passes the bound, is cut (the response ends without a
   * terminal frame) and its client resumes from the log. Readers of a resume are bounded by the
   * store's `readerLimit` and never slow the producer.
   * @defaultValue `1024`
   */
  readerLimit?: number | undefined;
  /** Called with producer errors, store failures and hooks that threw. @defaultValue none */
  onError?: ((error: unknown) => void) | undefined;
}

/** Per-call options of {@link Resumable.start}. */
export interface StartOptions<T = unknown> {
  /** Handed to `authorize` when the start joins a running generation. @defaultValue none */
  request?: unknown;
  /** Tags kept with the generation (e.g. `{ userId }`), for `authorize`. @defaultValue `{}` */
  tags?: Record<string, string> | undefined;
  /** Overrides {@link ResumableOptions.ifRunning}. */
  ifRunning?: IfRunning | undefined;
  /** Turns each chunk of a returned source into data or an `sseEvent` (as the engine's `map`). */
  map?: ((chunk: T, index: number) => unknown) | undefined;
  /** Overrides {@link ResumableOptions.format} for this response. */
  format?: FormatOption | undefined;
}

/** Per-call options of {@link Resumable.resume}. */
export interface ResumeOptions {
  /**
   * The client's cursor: its `Last-Event-ID` header, else the `cursor` query parameter (see
   * {@link cursorFrom}). `undefined`, `null` or `''` replays from the start.
   */
  cursor?: string | null | undefined;
  /** Handed to `authorize`. @defaultValue none */
  request?: unknown;
  /** Overrides {@link ResumableOptions.format} for this response. */
  format?: FormatOption | undefined;
}

/**
 * What to answer: a status, the `SSEKit-*` headers, and on `200` the events to pipe through the
 * endpoint's adapter. `204`: nothing to resume; `403`: `authorize` refused; `409`: the stream id
 * runs and the policy is `conflict`; `503` (with `Retry-After`): a start while the process drains.
 */
export interface ResumeReply {
  /** The HTTP status to answer with. */
  readonly status: 200 | 204 | 403 | 409 | 503;
  /** `SSEKit-Resume`, `SSEKit-Cursor` and `SSEKit-Resume-URL` (on `200`); set them on the response. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * On `200`: the events, each an `sseEvent` with its id (what the store had at once comes as one
   * {@link SseBatch} of them, which every ssekit transport writes together), then the end: it
   * finishes normally on a
   * `done` or `stopped` generation (the endpoint's `done` frame follows), and throws an
   * `SseError` (`PRODUCER_LOST`, `PRODUCER_FAILED`, `STORE_UNAVAILABLE`: the endpoint's error
   * event, by default `event: error` with that `code`) or is cut (`READER_OVERFLOW`,
   * `GENERATION_GONE`: the response ends without a terminal frame and the client resumes).
   * Pipe it or cancel it: while it is open it counts as a reader.
   */
  readonly source: AsyncIterableIterator<SseEvent | SseBatch> | undefined;
  /** The generation read, when there is one. */
  readonly gen: string | undefined;
}

/** The final result of a generation, for a `stream: false` request. */
export interface ResumeResult {
  /** The events' data joined (strings as they are, other values as JSON). */
  readonly text: string;
  /** How the generation ended. */
  readonly end: StreamEnd;
  /** `false` when events were trimmed before they could be read (the text misses its start). */
  readonly complete: boolean;
}

/** What {@link createResumable} returns. */
export interface Resumable {
  /** The store in use. */
  readonly store: ResumeStore;
  /**
   * Starts a generation under `streamId` (or joins or refuses the running one, per `ifRunning`)
   * and answers with a reader from its first event. The producer is a source or a handler, as
   * for `sse()`; its writer's signal aborts on stop, on `continueForMs` without readers, or on a
   * store failure.
   */
  start<T>(
    streamId: string,
    producer: Producer<T>,
    options?: StartOptions<T>,
  ): Promise<ResumeReply>;
  /** Answers a reconnect: the events after the client's cursor on any instance, or a reset, or 204/403. */
  resume(streamId: string, options?: ResumeOptions): Promise<ResumeReply>;
  /**
   * Stops the stream's live generation on whichever instance runs it; resolves once a local
   * producer has finalized (a remote one is asked, and finalizes within its next lease renewal).
   * Idempotent; `false` when nothing was running.
   */
  stop(streamId: string): Promise<boolean>;
  /** Waits for the generation's end and returns its joined text; `undefined` when none exists. */
  result(
    streamId: string,
    options?: { signal?: AbortSignal | undefined },
  ): Promise<ResumeResult | undefined>;
  /** Stops the local producers (finalized `stopped`) and detaches from the store (not closing it). */
  close(): Promise<void>;
}

const noop = (): void => {};

/** Producers are paused while this many events wait to be sent to the store. */
const HIGH_WATER = 512;

/**
 * The most appends of one generation in flight at once. Each carries its explicit seqs and the
 * store refuses one that does not continue the stored seq, so appends are pipelined without
 * risking a gap (a Redis store then never waits idle for the next batch: bench/resume-redis.ts);
 * readers get each batch once it and every batch before it are stored.
 */
const MAX_IN_FLIGHT = 4;

/** One append in flight: its events, when it was sent, and its outcome. */
interface Append {
  readonly events: StoredEvent[];
  readonly startedAt: number;
  /**
   * Settles when the store has answered, never rejects: `undefined` once stored, else the
   * store's error, which {@link Generation.settle} takes in seq order and handles.
   */
  readonly outcome: Promise<{ error: unknown } | undefined>;
}

/** Milliseconds a local reader may hold the producer back before it is cut. */
const STALL_MS = 2000;

function nonNegative(field: string, value: unknown, fallback: number): number {
  const resolved = value ?? fallback;
  if (!(
    typeof resolved === 'number' &&
    Number.isSafeInteger(resolved) &&
    resolved >= 0 &&
    resolved <= 2 ** 31 - 1
  )) {
    throw new SseError(
      'INVALID_OPTION',
      `\`${field}\` must be a non-negative integer number of milliseconds, received ${JSON.stringify(resolved) ?? typeof resolved}`,
      { field },
    );
  }
  return resolved;
}

function option<F>(
  field: string,
  value: unknown,
  check: (v: unknown) => boolean,
  expected: string,
): F {
  if (value !== undefined && !check(value)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`${field}\` must be ${expected}, received ${typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? typeof value)}`,
      { field },
    );
  }
  return value as F;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

function hasFields(format: FrameFormat): boolean {
  return format.comment('') !== undefined;
}

/**
 * Reads a request's cursor: the `Last-Event-ID` header, else the `cursor` query parameter.
 *
 * @example In an Express route
 * ```ts
 * import { cursorFrom } from 'ssekit/resume';
 *
 * app.get('/api/chats/:id/stream', async (req, res) => {
 *   const cursor = cursorFrom(req.headers, req.url);
 * });
 * ```
 */
export function cursorFrom(
  headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>,
  url: string | URL,
): string | undefined {
  const header =
    typeof (headers as Headers).get === 'function'
      ? (headers as Headers).get('last-event-id')
      : (headers as Record<string, string | readonly string[] | undefined>)['last-event-id'];
  const value = Array.isArray(header)
    ? (header as readonly string[])[0]
    : (header as string | null | undefined);
  if (value !== undefined && value !== null && value !== '') return value;
  return new URL(url, 'http://localhost').searchParams.get('cursor') ?? undefined;
}

/** Parses `<gen>.<seq>`; `undefined` when malformed. */
function parseCursor(cursor: string): { gen: string; seq: number } | undefined {
  const dot = cursor.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const gen = cursor.slice(0, dot);
  const digits = cursor.slice(dot + 1);
  if (!isGeneration(gen) || !/^(0|[1-9][0-9]{0,15})$/.test(digits)) return undefined;
  const seq = Number(digits);
  return Number.isSafeInteger(seq) ? { gen, seq } : undefined;
}

/**
 * Makes the resumable streams of an app on one store: start, resume, stop and result, each
 * answering with a {@link ResumeReply} that any adapter pipes unchanged.
 *
 * @throws `SseError` `INVALID_OPTION` naming a bad option.
 *
 * @example Start, resume and stop routes on Express
 * ```ts
 * import express from 'express';
 * import { createResumable, cursorFrom } from 'ssekit/resume';
 * import { sendSse } from 'ssekit/express';
 *
 * const resumable = createResumable({ resumeUrl: (id) => `/api/chats/${id}/stream` });
 * const options = { done: { event: 'done', data: '' } };
 * const app = express();
 * app.post('/api/chats/:id', express.json(), async (req, res, next) => {
 *   const reply = await resumable.start(req.params.id, (writer) => llm(req.body.prompt, writer.signal));
 *   res.status(reply.status).set(reply.headers);
 *   if (reply.source === undefined) return void res.end();
 *   await sendSse(res, reply.source, options).catch(next);
 * });
 * app.get('/api/chats/:id/stream', async (req, res, next) => {
 *   const reply = await resumable.resume(req.params.id, { cursor: cursorFrom(req.headers, req.url), request: req });
 *   res.status(reply.status).set(reply.headers);
 *   if (reply.source === undefined) return void res.end();
 *   await sendSse(res, reply.source, options).catch(next);
 * });
 * app.post('/api/chats/:id/stop', async (req, res) => {
 *   await resumable.stop(req.params.id);
 *   res.status(202).end();
 * });
 * ```
 */
export function createResumable(options: ResumableOptions = {}): Resumable {
  if (typeof options !== 'object' || options === null) {
    throw new SseError('INVALID_OPTION', '`options` must be an object', { field: 'options' });
  }
  const store = options.store ?? memoryStore();
  if (typeof store !== 'object' || store === null || typeof store.create !== 'function') {
    throw new SseError('INVALID_OPTION', '`store` must be a ResumeStore', { field: 'store' });
  }
  const config: Config = {
    store,
    continueForMs: nonNegative('continueForMs', options.continueForMs, 60_000),
    storeTimeoutMs: nonNegative('storeTimeoutMs', options.storeTimeoutMs, 10_000) || 1,
    onGap:
      option<'replay' | 'end' | undefined>(
        'onGap',
        options.onGap,
        (v) => v === 'replay' || v === 'end',
        "'replay' or 'end'",
      ) ?? 'replay',
    authorize: option<Config['authorize']>(
      'authorize',
      options.authorize,
      isFunction,
      'a function',
    ),
    ifRunning:
      option<IfRunning | undefined>(
        'ifRunning',
        options.ifRunning,
        (v) => v === 'join' || v === 'conflict' || v === 'replace',
        "'join', 'conflict' or 'replace'",
      ) ?? 'join',
    resumeUrl: option<Config['resumeUrl']>(
      'resumeUrl',
      options.resumeUrl,
      isFunction,
      'a function',
    ),
    format: resolveFormat(options.format ?? 'sse'),
    maxPending:
      option<number | undefined>(
        'maxPending',
        options.maxPending,
        (v) => Number.isSafeInteger(v) && (v as number) > 0,
        'a positive integer',
      ) ?? 10_000,
    readerLimit:
      option<number | undefined>(
        'readerLimit',
        options.readerLimit,
        (v) => Number.isSafeInteger(v) && (v as number) > 0,
        'a positive integer',
      ) ?? 1024,
    onError: option<Config['onError']>('onError', options.onError, isFunction, 'a function'),
  };
  return new ResumableImpl(config);
}

interface Config {
  readonly store: ResumeStore;
  readonly continueForMs: number;
  readonly storeTimeoutMs: number;
  readonly onGap: 'replay' | 'end';
  readonly authorize:
    | ((request: unknown, streamId: string, meta: StreamMeta) => boolean | Promise<boolean>)
    | undefined;
  readonly ifRunning: IfRunning;
  readonly resumeUrl: ((streamId: string) => string) | undefined;
  readonly format: FrameFormat;
  readonly maxPending: number;
  readonly readerLimit: number;
  readonly onError: ((error: unknown) => void) | undefined;
}

class ResumableImpl implements Resumable {
  readonly store: ResumeStore;
  readonly config: Config;
  readonly generations = new Map<string, Generation>();
  readonly offStop: () => void;

  constructor(config: Config) {
    this.config = config;
    this.store = config.store;
    this.offStop = this.store.onStop((streamId, gen) => {
      const generation = this.generations.get(streamId);
      if (generation?.gen === gen) generation.stop('stopped');
    });
  }

  readonly onError = (error: unknown): void => this.report(error);

  report(error: unknown): void {
    try {
      this.config.onError?.(error);
    } catch {
      // A throwing onError hook must not take the generation (or the process) down with it.
    }
  }

  headers(
    streamId: string,
    resume: 'new' | 'continued' | 'reset',
    cursor: string,
  ): Record<string, string> {
    const headers: Record<string, string> = { 'ssekit-resume': resume, 'ssekit-cursor': cursor };
    const { resumeUrl } = this.config;
    if (resumeUrl !== undefined) headers['ssekit-resume-url'] = resumeUrl(streamId);
    return headers;
  }

  async authorized(request: unknown, streamId: string, meta: StreamMeta): Promise<boolean> {
    const { authorize } = this.config;
    if (authorize === undefined) return true;
    return (await authorize(request, streamId, meta)) === true;
  }

  async start<T>(
    streamId: string,
    producer: Producer<T>,
    options: StartOptions<T> = {},
  ): Promise<ResumeReply> {
    if (typeof streamId !== 'string' || streamId === '') {
      throw new TypeError(`\`streamId\` must be a non-empty string, received ${String(streamId)}`);
    }
    const { tags, map, request } = options;
    const ifRunning = options.ifRunning ?? this.config.ifRunning;
    const format =
      options.format === undefined ? this.config.format : resolveFormat(options.format);
    if (map !== undefined && typeof map !== 'function') {
      throw new SseError('INVALID_OPTION', '`map` must be a function', { field: 'map' });
    }
    // A process that drains starts no generation (a resume, on any instance, still works).
    const retryAfter = drainRetryAfter(null);
    if (retryAfter !== undefined) {
      if (isSource(producer)) discard(producer, this.onError);
      return {
        status: 503,
        headers: { 'retry-after': String(retryAfter) },
        source: undefined,
        gen: undefined,
      };
    }
    const created = await this.store.create(streamId, { gen: newGeneration(), ifRunning, tags });
    const { meta } = created;
    // A source made before the start (an SDK stream already requested) is not needed when the
    // start joins or conflicts: stop it, so that upstream call ends. A handler costs nothing.
    if (created.role !== 'producer' && isSource(producer)) discard(producer, this.onError);
    if (created.role === 'conflict')
      return { status: 409, headers: {}, source: undefined, gen: meta.gen };
    if (created.role === 'follower') {
      if (!(await this.authorized(request, streamId, meta)))
        return { status: 403, headers: {}, source: undefined, gen: undefined };
      return this.read(streamId, meta, 0, 'continued', undefined, format);
    }
    this.generations.get(streamId)?.stop('replaced');
    const generation = new Generation(this, streamId, meta.gen);
    this.generations.set(streamId, generation);
    const local = generation.attach();
    generation.run(producer, map);
    return {
      status: 200,
      headers: this.headers(streamId, 'new', `${meta.gen}.0`),
      source: new ReplySource(meta.gen, [], local, () => generation.detach(local), this.onError),
      gen: meta.gen,
    };
  }

  async resume(streamId: string, options: ResumeOptions = {}): Promise<ResumeReply> {
    if (typeof streamId !== 'string' || streamId === '') {
      throw new TypeError(`\`streamId\` must be a non-empty string, received ${String(streamId)}`);
    }
    const format =
      options.format === undefined ? this.config.format : resolveFormat(options.format);
    const meta = await this.store.meta(streamId);
    if (meta === undefined) return { status: 204, headers: {}, source: undefined, gen: undefined };
    if (!(await this.authorized(options.request, streamId, meta))) {
      return { status: 403, headers: {}, source: undefined, gen: undefined };
    }
    const { cursor } = options;
    let reset: ResetReason | undefined;
    let after = meta.firstSeq - 1;
    if (cursor === undefined || cursor === null || cursor === '') {
      if (meta.firstSeq > 1) reset = 'trimmed';
    } else {
      const parsed = parseCursor(cursor);
      if (parsed === undefined) reset = 'unknown_cursor';
      else if (parsed.gen !== meta.gen) reset = 'generation_changed';
      else if (parsed.seq > meta.lastSeq) reset = 'unknown_cursor';
      else if (parsed.seq < meta.firstSeq - 1) reset = 'trimmed';
      else after = parsed.seq;
    }
    if (reset === undefined && meta.state !== 'live' && after === meta.lastSeq && cursor) {
      return { status: 204, headers: {}, source: undefined, gen: meta.gen };
    }
    if (reset === undefined)
      return this.read(streamId, meta, after, 'continued', undefined, format);
    return this.read(streamId, meta, after, 'reset', reset, format);
  }

  read(
    streamId: string,
    meta: StreamMeta,
    after: number,
    resume: 'continued' | 'reset',
    reset: ResetReason | undefined,
    format: FrameFormat,
  ): ResumeReply {
    const ending = reset !== undefined && this.config.onGap === 'end';
    const position = ending ? meta.lastSeq : after;
    const prefix: SseEvent[] = [];
    if (reset !== undefined && hasFields(format)) {
      prefix.push(
        sseEvent({ reason: reset }, { event: 'ssekit.reset', id: `${meta.gen}.${position}` }),
      );
    }
    const headers = this.headers(streamId, resume, `${meta.gen}.${position}`);
    if (ending)
      return {
        status: 200,
        headers,
        source: new ReplySource(meta.gen, prefix, undefined, undefined, this.onError),
        gen: meta.gen,
      };
    const batches = this.store.read(streamId, meta.gen, after)[Symbol.asyncIterator]();
    return {
      status: 200,
      headers,
      source: new ReplySource(meta.gen, prefix, batches, undefined, this.onError),
      gen: meta.gen,
    };
  }

  async stop(streamId: string): Promise<boolean> {
    const meta = await this.store.requestStop(streamId);
    const generation = this.generations.get(streamId);
    if (generation !== undefined && generation.gen === meta?.gen) {
      generation.stop('stopped');
      await generation.ended;
    }
    return meta?.state === 'live';
  }

  async result(
    streamId: string,
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<ResumeResult | undefined> {
    const meta = await this.store.meta(streamId);
    if (meta === undefined) return undefined;
    const parts: string[] = [];
    let end: StreamEnd | undefined;
    for await (const batch of this.store.read(streamId, meta.gen, meta.firstSeq - 1, {
      signal: options.signal,
    })) {
      for (const event of batch.events) parts.push(serializeData(event.data));
      end = batch.end;
    }
    if (end === undefined)
      throw options.signal?.reason ?? new SseError('GENERATION_GONE', 'the read ended early');
    return { text: parts.join(''), end, complete: meta.firstSeq === 1 };
  }

  async close(): Promise<void> {
    this.offStop();
    const running = [...this.generations.values()];
    for (const generation of running) generation.stop('stopped');
    await Promise.all(running.map((generation) => generation.ended));
  }
}

/** A reply's events: a prefix (the reset event), then batches from the store or the local feed. */
class ReplySource implements AsyncIterableIterator<SseEvent | SseBatch> {
  readonly gen: string;
  readonly prefix: SseEvent[];
  readonly batches: AsyncIterator<ReadBatch, undefined> | undefined;
  readonly onClose: (() => void) | undefined;
  readonly onError: (error: unknown) => void;
  pending: readonly StoredEvent[] = [];
  index = 0;
  end: StreamEnd | undefined = undefined;
  closed = false;

  constructor(
    gen: string,
    prefix: SseEvent[],
    batches: AsyncIterator<ReadBatch, undefined> | undefined,
    onClose: (() => void) | undefined,
    onError: (error: unknown) => void,
  ) {
    this.onError = onError;
    this.gen = gen;
    this.prefix = prefix;
    this.batches = batches;
    this.onClose = onClose;
  }

  async next(): Promise<IteratorResult<SseEvent | SseBatch, undefined>> {
    for (;;) {
      if (this.closed) return { done: true, value: undefined };
      const first = this.prefix.shift();
      if (first !== undefined) return { done: false, value: first };
      if (this.index < this.pending.length) {
        // What the store gave at once goes as one batch: one write and one turn of this source
        // for the lot, not one per event (bench/resume.ts).
        const { gen, pending } = this;
        const events: SseEvent[] = [];
        for (let i = this.index; i < pending.length; i++) {
          const event = pending[i] as StoredEvent;
          events.push(sseEvent(event.data, { id: `${gen}.${event.seq}`, event: event.event }));
        }
        this.index = pending.length;
        return { done: false, value: sseBatch(events) };
      }
      if (this.end !== undefined || this.batches === undefined) return this.finish(this.end);
      let step: IteratorResult<ReadBatch, undefined>;
      try {
        step = await this.batches.next();
      } catch (error) {
        this.close();
        throw error;
      }
      if (step.done) return this.finish(undefined);
      this.pending = step.value.events;
      this.index = 0;
      this.end = step.value.end;
    }
  }

  finish(end: StreamEnd | undefined): IteratorResult<SseEvent | SseBatch, undefined> {
    this.close();
    if (end === undefined || end.state === 'done' || end.state === 'stopped') {
      if (end === undefined && this.batches !== undefined) {
        // The read finished without an end: the store was closed or the read aborted.
        throw new SseError('GENERATION_GONE', 'the read ended before the generation did');
      }
      return { done: true, value: undefined };
    }
    if (end.state === 'lost') {
      throw new SseError(
        'PRODUCER_LOST',
        `the generation's producer was lost (${end.reason ?? 'no reason'})`,
      );
    }
    if (end.reason === 'drained') {
      throw new SseError('DRAINING', 'the generation was cut short by a drain (a deploy)');
    }
    if (end.reason === 'store_unavailable') {
      throw new SseError('STORE_UNAVAILABLE', 'the generation ended because its store failed');
    }
    throw new SseError(
      'PRODUCER_FAILED',
      `the generation's producer failed (${end.reason ?? 'no reason'})`,
    );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = [];
    // Releasing the read: a store whose release fails has nobody else to tell than onError.
    this.batches?.return?.().catch(this.onError);
    this.onClose?.();
  }

  return(): Promise<IteratorResult<SseEvent | SseBatch, undefined>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

type StopReason = 'stopped' | 'replaced' | 'detached';

/** Stops a source that will not be read: cancels a stream, destroys a Readable, ends an iterator. */
function discard(source: Source, onError: (error: unknown) => void): void {
  try {
    if (typeof (source as ReadableStream).cancel === 'function') {
      (source as ReadableStream).cancel().catch(onError);
      return;
    }
    const { destroy } = source as { destroy?: (() => void) | undefined };
    if (typeof destroy === 'function') destroy.call(source);
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<unknown>)[Symbol.iterator]();
    Promise.resolve(iterator.return?.()).catch(onError);
  } catch (error) {
    onError(error);
  }
}

const flushQueue: Generation[] = [];
let channel: MessageChannel | undefined;

function flushScheduled(): void {
  // Node: an idle port must not keep the process alive; it is held only while a flush waits.
  unref(channel?.port1);
  for (const generation of flushQueue.splice(0)) generation.flush();
}

/**
 * Runs the scheduled flushes after the current task: a `MessageChannel` message (a macrotask
 * that comes before timers, where the runtime has one), else a zero timeout.
 */
function afterTask(generation: Generation): void {
  flushQueue.push(generation);
  if (flushQueue.length > 1) return;
  if (typeof MessageChannel !== 'function') {
    setTimeout(flushScheduled, 0);
    return;
  }
  if (channel === undefined) {
    channel = new MessageChannel();
    channel.port1.onmessage = flushScheduled;
  }
  (channel.port1 as { ref?: () => void }).ref?.();
  channel.port2.postMessage(null);
}

/**
 * One generation produced on this instance: the producer runs on the engine with the log as its
 * transport. The engine frames each event with {@link Generation.format}, which stages the event
 * and returns a one-character frame; `write` turns as many frames as it receives into the next
 * seqs, in order (the engine calls the format and write in one synchronous step, and writes frames
 * in order, queued or not), so the engine's backpressure, queue bound, source handling and abort
 * all apply unchanged.
 */
class Generation {
  readonly owner: ResumableImpl;
  readonly streamId: string;
  readonly gen: string;
  readonly ended: Promise<void>;
  resolveEnded: () => void = () => {};
  engine: StreamRun | undefined = undefined;
  staged: Array<{ seq: number; data: unknown; event?: string | undefined }> = [];
  stagedHead = 0;
  seq = 0;
  batch: StoredEvent[] = [];
  inFlight: Append[] = [];
  wake: (() => void) | undefined = undefined;
  readonly local = new Set<ReaderQueue>();
  remoteReaders = 0;
  stopReason: StopReason | undefined = undefined;
  draining = false;
  failure: { error: unknown; reason: string } | undefined = undefined;
  finished = false;
  leaseTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  detachTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  detachDue = false;
  stallTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  scheduled = false;
  appendStartedAt = 0;
  watchdog: ReturnType<typeof setInterval> | undefined = undefined;
  /** The loop that settles the appends in flight, in order (`undefined` while none is). */
  settling: Promise<void> | undefined = undefined;

  readonly storeFailure: Promise<void>;
  markStoreDown: () => void = noop;
  storeIsDown = false;

  constructor(owner: ResumableImpl, streamId: string, gen: string) {
    this.storeFailure = new Promise<void>((resolve) => (this.markStoreDown = resolve));
    this.owner = owner;
    this.streamId = streamId;
    this.gen = gen;
    this.ended = new Promise<void>((resolve) => (this.resolveEnded = resolve));
  }

  readonly format: FrameFormat = {
    contentType: 'application/x-ssekit-log',
    event: (data, fields) => {
      if (fields?.id !== undefined) {
        throw new SseError(
          'INVALID_ID',
          'the ids of a resumable stream are assigned by ssekit; send no `id`',
          { field: 'id' },
        );
      }
      if (fields?.retry !== undefined) {
        throw new SseError(
          'INVALID_RETRY',
          '`retry` is sent per response, not stored in a resumable stream',
          { field: 'retry' },
        );
      }
      if (data === undefined) {
        throw new SseError('INVALID_DATA', '`data` must not be undefined', { field: 'data' });
      }
      const event = fields?.event;
      if (event !== undefined) formatFields({ event }); // refuses CR/LF as every format does
      // Stored as a store would give it back: JSON values through one JSON round trip.
      const stored = typeof data === 'string' ? data : (JSON.parse(serializeData(data)) as unknown);
      this.staged.push(
        event === undefined ? { seq: 0, data: stored } : { seq: 0, data: stored, event },
      );
      return '\u0001';
    },
    comment: () => undefined,
  };

  readonly transport: SseTransport = {
    commit: () => {},
    write: (chunk) => {
      for (let i = 0; i < chunk.length; i++) {
        const staged = this.staged[this.stagedHead++];
        if (staged === undefined) throw new Error('ssekit: a frame without a staged event (a bug)');
        staged.seq = ++this.seq; // the staged object is the stored event
        this.batch.push(staged);
      }
      if (this.stagedHead === this.staged.length) {
        this.staged = [];
        this.stagedHead = 0;
      }
      this.schedule();
      return !this.busy();
    },
    waitForDrain: () => {
      if (!this.busy()) return Promise.resolve();
      if (this.stallTimer === undefined && this.readerFull() !== undefined) {
        this.stallTimer = setTimeout(() => this.cutStalled(), STALL_MS);
        unref(this.stallTimer);
      }
      return new Promise<void>((resolve) => (this.wake = resolve));
    },
    close: () => {},
  };

  /**
   * Whether the producer should wait: too many events wait for the store, or a local reader (the
   * original request's) holds half its bound. A reader that keeps the producer waiting for
   * {@link STALL_MS} is cut (it resumes from its last id), so one stalled client cannot hold the
   * generation back for the others.
   */
  busy(): boolean {
    if (this.failure !== undefined) return false;
    return this.batch.length >= HIGH_WATER || this.readerFull() !== undefined;
  }

  readerFull(): ReaderQueue | undefined {
    for (const queue of this.local) if (queue.size * 2 >= queue.limit) return queue;
    return undefined;
  }

  cutStalled(): void {
    this.stallTimer = undefined;
    for (const queue of this.local) {
      if (queue.size * 2 < queue.limit) continue;
      queue.fail(
        new SseError(
          'READER_OVERFLOW',
          `the reader held the producer back for ${STALL_MS} ms and was cut; it resumes from its last id`,
        ),
      );
      this.local.delete(queue);
    }
    this.release();
  }

  /** A local reader from the first event: the original request's. */
  attach(): ReaderQueue {
    const queue = new ReaderQueue(this.owner.config.readerLimit);
    queue.onTake = () => this.release();
    this.local.add(queue);
    this.cancelDetach();
    return queue;
  }

  detach(queue: ReaderQueue): void {
    this.local.delete(queue);
    void queue.return();
    this.checkReaders();
  }

  run<T>(producer: Producer<T>, map: ((chunk: T, index: number) => unknown) | undefined): void {
    const config = resolveOptions<T>({
      format: this.format,
      map,
      heartbeat: false,
      errorEvent: false,
      queueLimit: this.owner.config.maxPending,
      onError: (error) => this.fail(error, 'internal_error'),
    });
    const engine = runStream(this.transport, producer, config);
    this.engine = engine;
    engine.ready.catch((error: unknown) => this.fail(error, 'internal_error'));
    void engine.done.then(() => this.complete());
    this.armLease();
    // A drain (issue 12) lets the generation go on appending to the log, readers or not, until
    // it finishes or the drain's deadline; then it is aborted and ends with `drained`.
    const unregister = registerProducer({
      onDrain: () => {
        this.draining = true;
        this.cancelDetach();
      },
      abort: (reason) => this.drained(reason),
      done: this.ended,
    });
    void this.ended.then(unregister);
  }

  /** The drain's deadline came first: the producer is aborted, the log ends `error`/`drained`. */
  drained(reason: SseError): void {
    if (this.finished || this.stopReason !== undefined || this.failure !== undefined) return;
    this.failure = { error: reason, reason: 'drained' };
    this.engine?.abort(reason);
  }

  fail(error: unknown, reason: string): void {
    if (this.failure !== undefined || this.stopReason !== undefined) return;
    this.failure = { error, reason };
    this.owner.report(error);
    // The engine is already ending (it reported the error): what it accepted still reaches the log.
  }

  stop(reason: StopReason): void {
    if (this.finished || this.stopReason !== undefined || this.failure !== undefined) return;
    this.stopReason = reason;
    const message =
      reason === 'detached'
        ? `no reader came back within continueForMs (${this.owner.config.continueForMs} ms)`
        : reason === 'replaced'
          ? 'the stream was started again'
          : 'the stream was stopped';
    this.engine?.abort(new SseError('CLIENT_GONE', message));
  }

  /**
   * Schedules one flush of what is batched, after the current task: the events a producer sends
   * in one turn of the event loop (a burst, or the tokens of one upstream chunk) go to the store
   * in one append. Events sent while {@link MAX_IN_FLIGHT} appends are in flight go in the next
   * one, sent as soon as the oldest is stored.
   */
  schedule(): void {
    if (this.scheduled || this.inFlight.length >= MAX_IN_FLIGHT) return;
    this.scheduled = true;
    afterTask(this);
  }

  /** Sends what is batched as one append, if a slot is free; {@link settle} takes the outcome. */
  flush(): void {
    this.scheduled = false;
    if (
      this.batch.length === 0 ||
      this.inFlight.length >= MAX_IN_FLIGHT ||
      this.storeIsDown ||
      this.failure?.reason === 'store_unavailable'
    )
      return;
    const events = this.batch;
    this.batch = [];
    const { store } = this.owner.config;
    // Called at once (appends are sent in seq order). settle() takes every outcome in order and
    // handles the first failure; an append in flight behind a failed one is refused by the store
    // (its seqs do not continue) or stored without readers, and ends with that failure.
    const outcome = (async () => store.append(this.streamId, this.gen, events))().then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
    this.inFlight.push({ events, startedAt: Date.now(), outcome });
    this.watchAppends();
    if (this.settling === undefined) this.settling = this.settle();
  }

  /**
   * Takes the appends' outcomes in seq order: each stored batch goes to the local readers (after
   * every batch before it: write-ahead, in order), and frees a slot for what was batched since.
   */
  async settle(): Promise<void> {
    try {
      for (let head = this.inFlight[0]; head !== undefined; head = this.inFlight[0]) {
        this.appendStartedAt = head.startedAt;
        const failed = await head.outcome;
        if (failed !== undefined) throw failed.error;
        this.inFlight.shift();
        for (const queue of this.local) {
          if (!queue.push(head.events)) this.local.delete(queue);
        }
        this.flush();
        this.release();
      }
    } catch (error) {
      this.inFlight = [];
      this.storeFailed(error);
    } finally {
      this.appendStartedAt = 0;
      this.settling = undefined;
      this.release();
    }
  }

  /** One timer per generation (not one per append) fails an append that takes too long. */
  watchAppends(): void {
    if (this.watchdog !== undefined) return;
    const { storeTimeoutMs } = this.owner.config;
    this.watchdog = setInterval(
      () => {
        const since = this.appendStartedAt;
        if (since === 0 || Date.now() - since < storeTimeoutMs) return;
        this.storeFailed(
          new SseError(
            'STORE_UNAVAILABLE',
            `a store append took longer than storeTimeoutMs (${storeTimeoutMs} ms)`,
          ),
        );
      },
      Math.max(10, Math.min(storeTimeoutMs, 1000)),
    );
    unref(this.watchdog);
  }

  release(): void {
    if (this.busy()) return;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  storeDown(): boolean {
    return this.storeIsDown;
  }

  storeFailed(error: unknown): void {
    const fenced = isSseError(error) && error.code === 'STORE_FENCED';
    const typed = isSseError(error)
      ? error
      : new SseError('STORE_UNAVAILABLE', 'a store append failed', { cause: error });
    this.batch = [];
    this.storeIsDown = true;
    this.markStoreDown();
    if (this.failure === undefined) {
      this.failure = { error: typed, reason: fenced ? 'fenced' : 'store_unavailable' };
      this.owner.report(typed);
      this.engine?.abort(typed);
    }
    const forReaders = fenced
      ? new SseError('GENERATION_GONE', 'the generation was replaced or expired', { cause: error })
      : typed;
    for (const queue of this.local) queue.fail(forReaders);
    this.local.clear();
  }

  /** The engine has ended: store what was accepted, then finalize. */
  async complete(): Promise<void> {
    // Events the engine accepted before it ended are stored before the end is, unless the store
    // itself failed (an append that hangs is given up on: the watchdog fails it).
    while (!this.storeDown()) {
      if (this.settling === undefined) this.flush();
      const { settling } = this;
      if (settling === undefined) break; // nothing left to store, or the store failed
      await Promise.race([settling, this.storeFailure]);
    }
    this.finished = true;
    this.stopTimers();
    const { failure, stopReason } = this;
    const end: StreamEnd =
      failure !== undefined
        ? { state: 'error', reason: failure.reason === 'fenced' ? 'fenced' : failure.reason }
        : stopReason !== undefined
          ? { state: 'stopped', reason: stopReason }
          : { state: 'done', reason: undefined };
    if (failure?.reason !== 'fenced') {
      const finalizing = this.owner.store
        .finalize(this.streamId, this.gen, end)
        .then(noop, (error: unknown) => this.owner.report(error));
      // A failing store may never answer: its readers were already told, so do not wait on it.
      if (!this.storeDown()) await finalizing;
    }
    for (const queue of this.local) queue.end(end);
    this.local.clear();
    if (this.owner.generations.get(this.streamId) === this)
      this.owner.generations.delete(this.streamId);
    this.resolveEnded();
  }

  armLease(): void {
    const { leaseMs } = this.owner.store;
    this.leaseTimer = setTimeout(() => void this.renew(), Math.max(1, Math.floor(leaseMs / 3)));
    unref(this.leaseTimer);
  }

  async renew(): Promise<void> {
    this.leaseTimer = undefined;
    if (this.finished) return;
    try {
      const { stop, readers } = await this.owner.store.renew(this.streamId, this.gen);
      this.remoteReaders = readers;
      if (stop) this.stop('stopped');
      else this.checkReaders();
    } catch (error) {
      if (isSseError(error) && error.code === 'STORE_FENCED') this.storeFailed(error);
      else this.owner.report(error);
    }
    if (!this.finished) this.armLease();
  }

  /**
   * Disconnect is not stop: once no reader is attached here or (as of the last renewal) on any
   * instance, the producer goes on for `continueForMs`; then, if a fresh renewal still counts no
   * reader, it is aborted.
   */
  checkReaders(): void {
    if (this.finished || this.stopReason !== undefined || this.draining) return;
    if (this.local.size > 0 || this.remoteReaders > 0) return this.cancelDetach();
    const { continueForMs } = this.owner.config;
    if (this.detachDue || continueForMs === 0) return this.stop('detached');
    if (this.detachTimer !== undefined) return;
    this.detachTimer = setTimeout(() => {
      this.detachTimer = undefined;
      this.detachDue = true;
      if (this.leaseTimer !== undefined) clearTimeout(this.leaseTimer);
      void this.renew();
    }, continueForMs);
    unref(this.detachTimer);
  }

  cancelDetach(): void {
    if (this.detachTimer !== undefined) clearTimeout(this.detachTimer);
    this.detachTimer = undefined;
    this.detachDue = false;
  }

  stopTimers(): void {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
    if (this.stallTimer !== undefined) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.leaseTimer !== undefined) clearTimeout(this.leaseTimer);
    this.leaseTimer = undefined;
    this.cancelDetach();
  }
}
