/**
 * The stream engine: runs a producer (a source or a handler with a push writer) against a
 * transport, with backpressure, a bounded queue, heartbeats, aborts and error frames.
 * Runtime-neutral; transports for Node and WHATWG streams are built on it.
 * @module
 */
import { SseError } from './errors.js';
import type { EventFields } from './format.js';
import {
  DEFAULT_QUEUE_LIMIT,
  isSseBatch,
  isSseEvent,
  resolveOptions,
  type SseEventInit,
  type StreamConfig,
  type StreamOptions,
} from './options.js';

/**
 * Where frames go: the extension point for new runtimes. ssekit ships one for Node's
 * `http.ServerResponse` (`ssekit/node`) and one for WHATWG streams ({@link toSseStream}).
 */
export interface SseTransport {
  /** Commits the response (status and headers) now. Called once, before the first write. */
  commit(): void;
  /** Writes encoded frames; returns `false` when the transport is full and the engine should wait. */
  write(chunk: string): boolean;
  /** Resolves when the transport can take more after `write` returned `false`, or has closed. */
  waitForDrain(): Promise<void>;
  /** Ends the response. May be called after the client is gone; must not throw. */
  close(): void;
  /**
   * The current time in milliseconds, read for heartbeats on every frame. A transport that knows
   * its runtime's turns can cache it per turn (the Node transport does): a timer never fires
   * within the turn that wrote a frame, so a stamp taken at the turn's first frame is as good.
   * @defaultValue `Date.now`
   */
  now?(): number;
  /**
   * Whether the client has already gone (it left while an async middleware ran): checked once,
   * before the producer starts. When it says so, the stream aborts at once and writes nothing.
   * @defaultValue never gone
   */
  gone?(): boolean;
  /**
   * The UTF-8 bytes of body handed to the connection so far, for stats: a transport that counts
   * them as it writes saves the engine counting each frame. Optional.
   */
  written?(): number;
}

/**
 * What a frame accepted for sending is, as a {@link StreamProbe} is told: a producer's `event`, a
 * producer's `comment`, a `heartbeat`, the `opening` frames (`retry`, `open`), or an `end` frame
 * (`done`, the error event, or the event of {@link StreamRun.end}).
 */
export type FrameKind = 'event' | 'comment' | 'heartbeat' | 'opening' | 'end';

/**
 * One stream's observer, made by {@link StreamConfig.observe} when the stream starts: told of every
 * frame accepted for sending and of the end. What ssekit's stats, limits and OpenTelemetry are
 * built on; a stream without one pays nothing for it.
 */
export interface StreamProbe {
  /** A frame was accepted for sending (a frame queued when the client leaves is never delivered). */
  frame(kind: FrameKind, frame: string): void;
  /** The stream ended: `reason` is `undefined` when it finished normally, else the abort or error reason. */
  end(reason: unknown): void;
  /** A resumable stream's outcome was reported (see `reportResume`). */
  resumed?(outcome: 'new' | 'continued' | 'reset'): void;
}

/**
 * The push writer a handler receives. Its methods are bound (typed `this: void`, so linters allow
 * it), so they can be handed straight to callback APIs (`{ handleLLMNewToken: writer.send }`).
 */
export interface SseWriter {
  /** Aborts when the client goes away (reason: `SseError` `CLIENT_GONE`) or the stream fails. */
  readonly signal: AbortSignal;
  /** Whether the stream has ended (closed, failed or aborted); further writes are no-ops. */
  readonly closed: boolean;
  /**
   * Sends one event. Throws an {@link SseError} synchronously, before anything is written, for
   * data or fields that cannot be sent, and the stream stays usable. The returned promise never
   * rejects: it resolves once the transport can take more (await it to honour backpressure).
   */
  send(this: void, data: unknown, fields?: EventFields): Promise<void>;
  /** Sends a comment (ignored by clients; formats without comments send nothing). */
  comment(this: void, text: string): Promise<void>;
  /** Ends the stream normally (the `done` event, if configured, is sent first). */
  close(this: void): void;
  /**
   * Ends the stream as if the handler had thrown `error`: `onError` is told, the signal aborts
   * with it, and the endpoint's error event is sent (before the first frame, the framework's
   * error path gets it instead). For callback APIs that swallow what a callback throws
   * (LangChain logs it and carries on), so a refused event is not silently dropped.
   */
  fail(this: void, error: unknown): void;
}

/** Anything ssekit can pipe: an async iterable (SDK streams, Node `Readable`), a WHATWG `ReadableStream`, or an iterable. */
export type Source<T = unknown> = AsyncIterable<T> | ReadableStream<T> | Iterable<T>;

/**
 * A function that produces the stream: it may push through the writer, return a {@link Source}
 * to be piped, or both. The stream ends when its promise settles (or the returned source ends).
 */
export type Handler<T = unknown, Args extends unknown[] = []> = (
  writer: SseWriter,
  ...args: Args
) => void | Source<T> | Promise<void | Source<T>>;

/** What a stream runs: a {@link Source} or a {@link Handler}. */
export type Producer<T = unknown> = Source<T> | Handler<T>;

/** A running stream, as seen by a transport's owner. */
export interface StreamRun {
  /** The producer's signal. */
  readonly signal: AbortSignal;
  /**
   * Resolves when the response is committed (headers may go out); rejects with the producer's
   * error if it failed before anything was written, so the framework can answer with an error
   * status.
   */
  readonly ready: Promise<void>;
  /** Resolves when the stream has ended, however it ended. Never rejects. */
  readonly done: Promise<void>;
  /** Stops the stream because the client went away: aborts the signal, cancels the source. */
  abort(reason?: unknown): void;
  /**
   * Ends the stream from outside (drain, limits, stop): aborts the producer's signal with `reason`,
   * sends `event` (formats without fields send none) after what is already queued, then ends the
   * response. A no-op once the stream is ending.
   */
  end(reason: unknown, event?: SseEventInit): void;
}

const RESOLVED = Promise.resolve();
const noop = (): void => {};

function isReadableStream(value: unknown): value is ReadableStream<unknown> {
  return typeof (value as ReadableStream | null)?.getReader === 'function';
}

/**
 * Whether `value` is something ssekit can pipe (strings are not: send them as one event).
 *
 * @example Strings are not sources
 * ```ts
 * import { isSource } from 'ssekit';
 *
 * isSource(['a', 'b']); // true
 * isSource('ab'); // false
 * ```
 */
export function isSource(value: unknown): value is Source {
  if (typeof value !== 'object' || value === null) return false;
  return (
    isReadableStream(value) ||
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function' ||
    typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
  );
}

/**
 * Runs a producer against a transport. Used by every adapter; use it to add a runtime.
 *
 * @example A transport that collects frames in memory
 * ```ts
 * import { resolveOptions, runStream } from 'ssekit';
 *
 * const frames: string[] = [];
 * const run = runStream(
 *   { commit() {}, write: (chunk) => (frames.push(chunk), true), waitForDrain: async () => {}, close() {} },
 *   ['Hello', ' world'],
 *   resolveOptions(),
 * );
 * await run.done; // frames: ['data: Hello\n\n', 'data:  world\n\n']
 * ```
 */
export function runStream<T>(
  transport: SseTransport,
  producer: Producer<T>,
  config: StreamConfig<T>,
): StreamRun {
  const stream = new Stream(transport, config);
  if (config.observe !== undefined) stream.probe = config.observe(stream, transport);
  stream.start(producer);
  return stream;
}

/**
 * The state of one stream, which is also its {@link StreamRun}. One object with its methods on the
 * prototype, not a closure per function: a server holds thousands of mostly idle streams, and
 * per-stream closures, their scopes and eagerly made arrays and promises were most of what an
 * idle stream cost (bench/memory.ts). What only a busy or ending stream needs (the queue, the
 * drain promise) is made when it is needed. Fields not in {@link StreamRun} are internal.
 */
class Stream<T> implements StreamRun {
  readonly ready: Promise<void>;
  transport: SseTransport;
  config: StreamConfig<T>;
  controller: AbortController;
  committed = false;
  closing = false; // no more producer writes
  ended = false; // transport closed or abandoned
  writable = true;
  queue: string[] | undefined = undefined; // made when the transport is first full
  queued = 0;
  drained: Promise<void> | undefined = undefined;
  releaseDrained: (() => void) | undefined = undefined;
  lastFrameAt = 0;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  cancelSource: () => void = noop;
  decoder: TextDecoder | undefined = undefined;
  index = 0;
  // Dropped once `ready` has settled, so an open stream does not keep them.
  resolveReady: (() => void) | undefined = undefined;
  rejectReady: ((error: unknown) => void) | undefined = undefined;
  // `done`, made when first read: a stream that nobody awaits (Express's sse()) keeps none.
  donePromise: Promise<void> | undefined = undefined;
  resolveDonePromise: (() => void) | undefined = undefined;
  finished = false;
  probe: StreamProbe | undefined = undefined;

  constructor(transport: SseTransport, config: StreamConfig<T>) {
    this.transport = transport;
    this.config = config;
    this.controller = new AbortController();
    this.ready = new Promise<void>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
  }

  get done(): Promise<void> {
    if (this.donePromise === undefined) {
      this.donePromise = this.finished
        ? RESOLVED
        : new Promise<void>((resolve) => (this.resolveDonePromise = resolve));
    }
    return this.donePromise;
  }

  resolveDone(): void {
    this.finished = true;
    const resolve = this.resolveDonePromise;
    this.resolveDonePromise = undefined;
    resolve?.();
  }

  // A getter: Node makes an AbortController's signal (an EventTarget) only when it is first read,
  // and many producers never read it.
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  start(producer: Producer<T>): void {
    // A client that left before the stream started (during an auth check, a queue, a rate
    // limiter) is never told by a future `close` event: it has already fired (issue 8, item 1).
    const gone = this.transport.gone?.() === true;
    if (gone) {
      // Nothing is written and no timer is armed; the handler still runs its synchronous part, so
      // a listener it adds to its signal fires, and what it returns is discarded by onResult().
      this.closing = true;
    } else {
      const { openingFrame, heartbeat } = this.config;
      if (openingFrame !== undefined) {
        this.probe?.frame('opening', openingFrame);
        void this.write(openingFrame);
      }
      if (heartbeat !== 0) {
        this.lastFrameAt = this.clock();
        this.armHeartbeat(heartbeat);
      }
    }
    this.run(producer);
    if (gone) this.abort();
  }

  run(producer: Producer<T>): void {
    try {
      const result = typeof producer === 'function' ? producer(new Writer(this)) : producer;
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        (result as Promise<void | Source<T>>).then(
          (value) => this.onResult(value),
          (error: unknown) => this.fail(error),
        );
      } else this.onResult(result as void | Source<T>);
    } catch (error) {
      this.fail(error);
    }
  }

  commit(): void {
    this.committed = true;
    this.transport.commit();
    const resolve = this.resolveReady;
    this.resolveReady = this.rejectReady = undefined;
    resolve?.();
  }

  /** Rejects `ready` (the stream failed or was aborted before it was committed). */
  refuse(reason: unknown): void {
    const reject = this.rejectReady;
    this.resolveReady = this.rejectReady = undefined;
    if (reject === undefined) return;
    // Handled here, so no one has to await `ready` to avoid an unhandled rejection.
    this.ready.catch(noop);
    reject(reason);
  }

  /** Gives events without a name of their own the endpoint's `event` name. */
  named(eventFields: EventFields | undefined): EventFields | undefined {
    const { fields } = this.config;
    if (eventFields === undefined) return fields;
    if (fields === undefined || typeof eventFields !== 'object' || eventFields === null)
      return eventFields;
    if (eventFields.event !== undefined) return eventFields;
    return { event: fields.event, id: eventFields.id, retry: eventFields.retry };
  }

  send(data: unknown, eventFields?: EventFields): Promise<void> {
    if (this.closing) return RESOLVED;
    const frame = this.config.format.event(data, this.named(eventFields));
    if (this.probe !== undefined) this.probe.frame('event', frame);
    return this.write(frame);
  }

  comment(text: string): Promise<void> {
    if (this.closing) return RESOLVED;
    const frame = this.config.format.comment(text);
    if (frame === undefined) return RESOLVED;
    this.probe?.frame('comment', frame);
    return this.write(frame);
  }

  /** The time for heartbeats: the transport's (cached per turn on Node), else `Date.now()`. */
  clock(): number {
    const { transport } = this;
    return transport.now === undefined ? Date.now() : transport.now();
  }

  /** Writes or queues one encoded frame; the promise resolves when the transport has room. */
  write(frame: string): Promise<void> {
    if (this.config.heartbeat !== 0) this.lastFrameAt = this.clock();
    if (!this.committed) this.commit();
    if (this.writable) {
      if (this.transport.write(frame)) return RESOLVED;
      this.writable = false;
      return this.waitForRoom();
    }
    (this.queue ??= []).push(frame);
    this.queued += frame.length;
    if (this.queued > this.config.queueLimit && !this.closing) this.overflow();
    return this.drained ?? RESOLVED;
  }

  waitForRoom(): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => (this.releaseDrained = resolve));
    this.awaitDrain();
    return this.drained;
  }

  awaitDrain(): void {
    const onDrain = (): void => this.onDrain();
    this.transport.waitForDrain().then(onDrain, onDrain);
  }

  onDrain(): void {
    if (this.ended) return;
    const queue = this.queue;
    if (queue !== undefined && queue.length > 0) {
      // Coalesce everything that queued while the transport was busy into one write.
      const chunk = queue.length === 1 ? (queue[0] as string) : queue.join('');
      this.queue = undefined;
      this.queued = 0;
      if (!this.transport.write(chunk)) {
        this.awaitDrain();
        return;
      }
    }
    this.writable = true;
    const release = this.releaseDrained;
    this.drained = undefined;
    this.releaseDrained = undefined;
    release?.();
  }

  overflow(): void {
    const error = new SseError(
      'QUEUE_OVERFLOW',
      `the producer queued more than ${this.config.queueLimit} characters without waiting for send(); the stream was stopped`,
      { field: 'queueLimit' },
    );
    this.report(error);
    this.finish(error);
  }

  report(error: unknown): void {
    try {
      this.config.onError?.(error);
    } catch {
      // An onError hook that throws must not take the stream (or the process) down with it.
    }
  }

  armHeartbeat(delay: number): void {
    // The stream rides along as the timer's argument: no closure per timer.
    this.timer = setTimeout(beat, delay, this);
  }

  beat(): void {
    this.timer = undefined;
    if (this.closing) return;
    const { heartbeat } = this.config;
    const silence = this.clock() - this.lastFrameAt;
    if (silence < heartbeat) return this.armHeartbeat(heartbeat - silence);
    if (this.writable) {
      this.probe?.frame('heartbeat', this.config.heartbeatFrame as string);
      void this.write(this.config.heartbeatFrame as string);
    }
    this.armHeartbeat(heartbeat);
  }

  stopTimers(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Ends the stream normally, or with an error frame when `error` is given. */
  finish(error?: unknown): void {
    if (this.closing) return;
    this.closing = true;
    this.stopTimers();
    this.cancelSource();
    const { config } = this;
    if (error !== undefined) {
      this.controller.abort(error);
      const init = safely(() => config.errorEvent?.(error));
      const frame = init && safely(() => config.format.event(init.data, init));
      if (frame) this.writeEnd(frame);
    } else if (config.doneFrame !== undefined) {
      this.writeEnd(config.doneFrame);
    }
    if (!this.committed) this.commit();
    void this.endWhenFlushed(error);
  }

  end(reason: unknown, event?: SseEventInit): void {
    if (this.closing) return;
    this.closing = true;
    this.stopTimers();
    this.cancelSource();
    this.controller.abort(reason);
    const { format } = this.config;
    // Formats without comments have no fields either (see resolveOptions): they end with no frame.
    const frame =
      event && format.comment('') !== undefined
        ? safely(() => format.event(event.data, event))
        : undefined;
    if (frame) this.writeEnd(frame);
    if (!this.committed) this.commit();
    void this.endWhenFlushed(reason);
  }

  writeEnd(frame: string): void {
    this.probe?.frame('end', frame);
    void this.write(frame);
  }

  async endWhenFlushed(reason: unknown): Promise<void> {
    while (!this.ended && !this.writable) await this.drained;
    if (this.ended) return;
    this.ended = true;
    this.transport.close();
    this.probe?.end(reason);
    this.resolveDone();
  }

  fail(error: unknown): void {
    if (this.closing) return; // after an abort, producer errors are expected noise
    if (!this.committed) {
      this.closing = this.ended = true;
      this.stopTimers();
      this.controller.abort(error);
      this.cancelSource();
      this.refuse(error);
      this.probe?.end(error);
      this.resolveDone();
      return;
    }
    this.report(error);
    this.finish(error);
  }

  abort(reason: unknown = new SseError('CLIENT_GONE', 'the client closed the connection')): void {
    if (this.ended) return;
    this.closing = this.ended = true;
    this.stopTimers();
    this.queue = undefined;
    this.queued = 0;
    this.controller.abort(reason);
    this.cancelSource();
    this.releaseDrained?.();
    this.transport.close();
    if (!this.committed) this.refuse(reason);
    this.probe?.end(reason);
    this.resolveDone();
  }

  emit(chunk: unknown): Promise<void> {
    let value = chunk;
    if (value instanceof Uint8Array) {
      this.decoder ??= new TextDecoder();
      value = this.decoder.decode(value, { stream: true });
      if (value === '') return RESOLVED;
    }
    const { map, format, fields } = this.config;
    if (isSseBatch(value)) return this.emitBatch(value.events);
    if (map !== undefined) value = map(value as T, this.index++);
    if (value === undefined) return RESOLVED;
    const frame = isSseEvent(value)
      ? format.event(value.data, this.named(value))
      : format.event(value, fields);
    if (this.closing) return RESOLVED;
    if (this.probe !== undefined) this.probe.frame('event', frame);
    return this.write(frame);
  }

  /** Formats every event of a batch (all of them first: a refusal writes none), then one write. */
  emitBatch(events: readonly unknown[]): Promise<void> {
    const { format, fields } = this.config;
    let frames = '';
    const framed: string[] | undefined = this.probe === undefined ? undefined : [];
    for (const event of events) {
      if (event === undefined) continue;
      const frame = isSseEvent(event)
        ? format.event(event.data, this.named(event))
        : format.event(event, fields);
      frames += frame;
      framed?.push(frame);
    }
    if (this.closing || frames === '') return RESOLVED;
    // The probe counts events: each frame of the batch is told, as if written one by one.
    if (framed !== undefined) for (const frame of framed) this.probe?.frame('event', frame);
    return this.write(frames);
  }

  /** Emits what a byte source left in the decoder: an incomplete character becomes U+FFFD. */
  flushDecoder(): Promise<void> | undefined {
    const rest = this.decoder?.decode();
    this.decoder = undefined;
    return rest ? this.emit(rest) : undefined;
  }

  async pump(source: Source<T>): Promise<void> {
    if (isReadableStream(source)) {
      const reader = source.getReader();
      this.cancelSource = () => void reader.cancel(this.signal.reason).catch(noop);
      for (;;) {
        const { done: end, value } = await reader.read();
        if (this.closing) return;
        if (end) return this.flushDecoder();
        await this.emit(value);
      }
    }
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<T>)[Symbol.iterator]();
    const destroy = (source as { destroy?: ((error?: Error) => void) | undefined }).destroy;
    // Whether the iterator needs no return(): it finished, threw, or return() was already called.
    let finished = false;
    this.cancelSource = () => {
      // A Node Readable stops at once when destroyed; an async generator's return() waits for
      // its pending next(), which the abort signal is there to cut short.
      if (typeof destroy === 'function')
        safely(() => {
          destroy.call(source);
        });
      if (finished) return;
      finished = true;
      void Promise.resolve(safely(() => iterator.return?.())).catch(noop);
    };
    for (;;) {
      let step: IteratorResult<T>;
      try {
        step = await iterator.next();
      } catch (error) {
        finished = true; // an iterator that threw is done; return() is not called (as in for-of)
        throw error;
      }
      if (step.done) {
        finished = true;
        return this.flushDecoder();
      }
      if (this.closing) return; // finish() or abort() has already called cancelSource()
      // If emit throws (a `map` that throws, data the format refuses), fail() calls cancelSource(),
      // which calls return() as a for-of loop would.
      await this.emit(step.value);
    }
  }

  onResult(result: void | Source<T>): void {
    if (this.closing) {
      // The client left (or the stream failed) while the handler was still working: the source it
      // returns must still be stopped, or an upstream LLM call keeps running for no one.
      if (isSource(result)) discard(result);
      return;
    }
    if (result === undefined || result === null) return this.finish();
    if (!isSource(result)) {
      return this.fail(
        new SseError(
          'INVALID_OPTION',
          `a handler must return nothing, an async iterable or a ReadableStream, received ${typeof result}`,
          { field: 'handler' },
        ),
      );
    }
    if (!this.committed) this.commit();
    this.pump(result).then(
      () => this.finish(),
      (error: unknown) => this.fail(error),
    );
  }
}

/** The heartbeat timer's callback: one function for every stream, which it gets as an argument. */
function beat(stream: { beat(): void }): void {
  stream.beat();
}

/**
 * The push writer of a handler's stream. `send`, `comment`, `close` and `fail` are bound functions
 * (the documented API lets them be passed around detached), each made on first use.
 */
class Writer implements SseWriter {
  readonly #stream: Stream<never>;
  // Made on first use: most handlers use one or two of them, and an open stream keeps its writer
  // (bench/memory.ts, issue 12). Once made, the same function is returned every time.
  #send: SseWriter['send'] | undefined = undefined;
  #comment: SseWriter['comment'] | undefined = undefined;
  #close: SseWriter['close'] | undefined = undefined;
  #fail: SseWriter['fail'] | undefined = undefined;

  /** The probe of the stream behind a writer (for `reportResume`). */
  static probeOf(writer: Writer): StreamProbe | undefined {
    return writer.#stream.probe;
  }

  constructor(stream: Stream<never>) {
    this.#stream = stream;
  }

  get send(): SseWriter['send'] {
    const stream = this.#stream;
    return (this.#send ??= (data, eventFields) => stream.send(data, eventFields));
  }

  get comment(): SseWriter['comment'] {
    const stream = this.#stream;
    return (this.#comment ??= (text) => stream.comment(text));
  }

  get close(): SseWriter['close'] {
    const stream = this.#stream;
    return (this.#close ??= () => stream.finish());
  }

  get fail(): SseWriter['fail'] {
    const stream = this.#stream;
    return (this.#fail ??= (error) => stream.fail(error));
  }

  get signal(): AbortSignal {
    return this.#stream.signal;
  }

  get closed(): boolean {
    return this.#stream.closing;
  }
}

/**
 * The {@link StreamProbe} of the stream behind a writer or a run, if its endpoint observes streams.
 * @internal
 */
export function probeOf(target: SseWriter | StreamRun): StreamProbe | undefined {
  if (target instanceof Stream) return target.probe;
  if (target instanceof Writer) return Writer.probeOf(target);
  return undefined;
}

/** Stops a source that will not be read: cancels a stream, destroys a Readable, returns an iterator. */
function discard(source: Source): void {
  if (isReadableStream(source)) {
    void source.cancel().catch(noop);
    return;
  }
  const { destroy } = source as { destroy?: (() => void) | undefined };
  if (typeof destroy === 'function') safely(() => destroy.call(source));
  safely(() => {
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<unknown>)[Symbol.iterator]();
    void Promise.resolve(iterator.return?.()).catch(noop);
  });
}

function safely<R>(fn: () => R): R | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** Options of {@link collectText}: the stream's `map` and `event`, and a bound on the text. */
export interface CollectOptions<T = unknown> extends StreamOptions<T> {
  /**
   * The most text (UTF-16 code units) collected. Past it the producer is stopped (its signal
   * aborts with the error, its source is cancelled) and `collectText` rejects with an
   * {@link SseError} `DOCUMENT_TOO_LARGE`: a producer that keeps going cannot exhaust memory.
   * @defaultValue the `queueLimit` (`1048576`, 1 Mi code units)
   */
  limit?: number | undefined;
}

/**
 * Runs a producer to completion and returns its events' data joined as text, for endpoints that
 * answer one JSON document when the client does not want a stream. Fields, comments, `done` and
 * heartbeats are left out. The text is bounded by `limit`.
 *
 * @throws whatever the producer throws, at any point: there is no stream to end with an error
 * event; {@link SseError} `DOCUMENT_TOO_LARGE` past the `limit`; the signal's reason when it aborts.
 *
 * @example Joining tokens for a JSON answer
 * ```ts
 * import { collectText } from 'ssekit';
 *
 * await collectText(['Hello', ' world']); // 'Hello world'
 * ```
 */
export async function collectText<T>(
  producer: Producer<T>,
  options: CollectOptions<T> = {},
  signal?: AbortSignal,
): Promise<string> {
  const { map, event, queueLimit, limit = queueLimit ?? DEFAULT_QUEUE_LIMIT } = options;
  if (!(Number.isSafeInteger(limit) && limit > 0)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`limit\` must be a positive integer (UTF-16 code units), received ${String(limit)}`,
      { field: 'limit' },
    );
  }
  const config = resolveOptions<T>({
    format: 'raw',
    map,
    event,
    heartbeat: false,
    errorEvent: false,
  });
  const parts: string[] = [];
  let length = 0;
  let failure: { error: unknown } | undefined;
  const run = runStream(
    {
      commit: noop,
      write(chunk) {
        length += chunk.length;
        if (length <= limit) parts.push(chunk);
        else if (failure === undefined) {
          const error = new SseError(
            'DOCUMENT_TOO_LARGE',
            `the collected document grew past ${limit} characters; the producer was stopped`,
            { field: 'limit' },
          );
          failure = { error };
          queueMicrotask(() => run.abort(error));
        }
        return true;
      },
      waitForDrain: () => RESOLVED,
      close: noop,
      // An `abort` listener added to a signal that has already fired would never run.
      gone: () => signal?.aborted === true,
    },
    producer,
    { ...config, onError: (error) => (failure ??= { error }) },
  );
  const stop = (): void => run.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await run.ready;
    await run.done;
  } catch (error) {
    if (signal?.aborted) throw signal.reason; // the run's own CLIENT_GONE: report the signal's
    if (failure) throw failure.error;
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  if (failure) throw failure.error;
  if (signal?.aborted) throw signal.reason;
  return parts.join('');
}
