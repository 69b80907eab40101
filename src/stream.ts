/**
 * The stream engine: runs a producer (a source or a handler with a push writer) against a
 * transport, with backpressure, a bounded queue, heartbeats, aborts and error frames.
 * Runtime-neutral; transports for Node and WHATWG streams are built on it.
 * @module
 */
import { SseError } from './errors.js';
import type { EventFields } from './format.js';
import { isSseEvent, resolveOptions, type StreamConfig, type StreamOptions } from './options.js';

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
  const controller = new AbortController();
  const { format, map, fields, queueLimit, heartbeat, heartbeatFrame } = config;

  let committed = false;
  let closing = false; // no more producer writes
  let ended = false; // transport closed or abandoned
  let writable = true;
  let queue: string[] = [];
  let queued = 0;
  let drained: Promise<void> | undefined;
  let releaseDrained = noop;
  let lastFrameAt = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelSource = noop;
  let decoder: TextDecoder | undefined;
  let index = 0;

  let resolveReady = noop;
  let rejectReady: (error: unknown) => void = noop;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(noop);
  let resolveDone = noop;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  function commit(): void {
    committed = true;
    transport.commit();
    resolveReady();
  }

  /** Gives events without a name of their own the endpoint's `event` name. */
  function named(eventFields: EventFields | undefined): EventFields | undefined {
    if (eventFields === undefined) return fields;
    if (fields === undefined || typeof eventFields !== 'object' || eventFields === null)
      return eventFields;
    if (eventFields.event !== undefined) return eventFields;
    return { event: fields.event, id: eventFields.id, retry: eventFields.retry };
  }

  /** Writes or queues one encoded frame; the promise resolves when the transport has room. */
  function write(frame: string): Promise<void> {
    if (heartbeat !== 0) lastFrameAt = Date.now();
    if (!committed) commit();
    if (writable) {
      if (transport.write(frame)) return RESOLVED;
      writable = false;
      return waitForRoom();
    }
    queue.push(frame);
    queued += frame.length;
    if (queued > queueLimit && !closing) overflow();
    return drained ?? RESOLVED;
  }

  function waitForRoom(): Promise<void> {
    drained ??= new Promise<void>((resolve) => (releaseDrained = resolve));
    transport.waitForDrain().then(onDrain, onDrain);
    return drained;
  }

  function onDrain(): void {
    if (ended) return;
    if (queue.length > 0) {
      // Coalesce everything that queued while the transport was busy into one write.
      const chunk = queue.length === 1 ? (queue[0] as string) : queue.join('');
      queue = [];
      queued = 0;
      if (!transport.write(chunk)) {
        transport.waitForDrain().then(onDrain, onDrain);
        return;
      }
    }
    writable = true;
    const release = releaseDrained;
    drained = undefined;
    releaseDrained = noop;
    release();
  }

  function overflow(): void {
    const error = new SseError(
      'QUEUE_OVERFLOW',
      `the producer queued more than ${queueLimit} characters without waiting for send(); the stream was stopped`,
      { field: 'queueLimit' },
    );
    report(error);
    finish(error);
  }

  function report(error: unknown): void {
    try {
      config.onError?.(error);
    } catch {
      // An onError hook that throws must not take the stream (or the process) down with it.
    }
  }

  function armHeartbeat(delay: number): void {
    timer = setTimeout(beat, delay);
  }

  function beat(): void {
    timer = undefined;
    if (closing) return;
    const silence = Date.now() - lastFrameAt;
    if (silence < heartbeat) return armHeartbeat(heartbeat - silence);
    if (writable) void write(heartbeatFrame as string);
    armHeartbeat(heartbeat);
  }

  function stopTimers(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  }

  /** Ends the stream normally, or with an error frame when `error` is given. */
  function finish(error?: unknown): void {
    if (closing) return;
    closing = true;
    stopTimers();
    cancelSource();
    if (error !== undefined) {
      controller.abort(error);
      const init = safely(() => config.errorEvent?.(error));
      const frame = init && safely(() => format.event(init.data, init));
      if (frame) void write(frame);
    } else if (config.doneFrame !== undefined) {
      void write(config.doneFrame);
    }
    if (!committed) commit();
    void endWhenFlushed();
  }

  async function endWhenFlushed(): Promise<void> {
    while (!ended && !writable) await drained;
    if (ended) return;
    ended = true;
    transport.close();
    resolveDone();
  }

  function fail(error: unknown): void {
    if (closing) return; // after an abort, producer errors are expected noise
    if (!committed) {
      closing = ended = true;
      stopTimers();
      controller.abort(error);
      cancelSource();
      rejectReady(error);
      resolveDone();
      return;
    }
    report(error);
    finish(error);
  }

  function abort(
    reason: unknown = new SseError('CLIENT_GONE', 'the client closed the connection'),
  ): void {
    if (ended) return;
    closing = ended = true;
    stopTimers();
    queue = [];
    queued = 0;
    controller.abort(reason);
    cancelSource();
    releaseDrained();
    transport.close();
    if (!committed) rejectReady(reason);
    resolveDone();
  }

  function emit(chunk: unknown): Promise<void> {
    let value = chunk;
    if (value instanceof Uint8Array) {
      decoder ??= new TextDecoder();
      value = decoder.decode(value, { stream: true });
      if (value === '') return RESOLVED;
    }
    if (map !== undefined) value = map(value as T, index++);
    if (value === undefined) return RESOLVED;
    const frame = isSseEvent(value)
      ? format.event(value.data, named(value))
      : format.event(value, fields);
    return closing ? RESOLVED : write(frame);
  }

  /** Emits what a byte source left in the decoder: an incomplete character becomes U+FFFD. */
  function flushDecoder(): Promise<void> | undefined {
    const rest = decoder?.decode();
    decoder = undefined;
    return rest ? emit(rest) : undefined;
  }

  async function pump(source: Source<T>): Promise<void> {
    if (isReadableStream(source)) {
      const reader = source.getReader();
      cancelSource = () => void reader.cancel(controller.signal.reason).catch(noop);
      for (;;) {
        const { done: end, value } = await reader.read();
        if (closing) return;
        if (end) return flushDecoder();
        await emit(value);
      }
    }
    const iterator =
      Symbol.asyncIterator in source
        ? source[Symbol.asyncIterator]()
        : (source as Iterable<T>)[Symbol.iterator]();
    const destroy = (source as { destroy?: ((error?: Error) => void) | undefined }).destroy;
    // Whether the iterator needs no return(): it finished, threw, or return() was already called.
    let finished = false;
    cancelSource = () => {
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
        return flushDecoder();
      }
      if (closing) return; // finish() or abort() has already called cancelSource()
      // If emit throws (a `map` that throws, data the format refuses), fail() calls cancelSource(),
      // which calls return() as a for-of loop would.
      await emit(step.value);
    }
  }

  function onResult(result: void | Source<T>): void {
    if (closing) {
      // The client left (or the stream failed) while the handler was still working: the source it
      // returns must still be stopped, or an upstream LLM call keeps running for no one.
      if (isSource(result)) discard(result);
      return;
    }
    if (result === undefined || result === null) return finish();
    if (!isSource(result)) {
      return fail(
        new SseError(
          'INVALID_OPTION',
          `a handler must return nothing, an async iterable or a ReadableStream, received ${typeof result}`,
          { field: 'handler' },
        ),
      );
    }
    if (!committed) commit();
    pump(result).then(() => finish(), fail);
  }

  const writer: SseWriter = {
    signal: controller.signal,
    get closed() {
      return closing;
    },
    send(data: unknown, eventFields?: EventFields): Promise<void> {
      if (closing) return RESOLVED;
      return write(format.event(data, named(eventFields)));
    },
    comment(text: string): Promise<void> {
      if (closing) return RESOLVED;
      const frame = format.comment(text);
      return frame === undefined ? RESOLVED : write(frame);
    },
    close(): void {
      finish();
    },
  };

  if (config.openingFrame !== undefined) void write(config.openingFrame);
  if (heartbeat !== 0) {
    lastFrameAt = Date.now();
    armHeartbeat(heartbeat);
  }
  try {
    const result = typeof producer === 'function' ? producer(writer) : producer;
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      (result as Promise<void | Source<T>>).then(onResult, fail);
    } else onResult(result as void | Source<T>);
  } catch (error) {
    fail(error);
  }

  return { signal: controller.signal, ready, done, abort };
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

/**
 * Runs a producer to completion and returns its events' data joined as text, for endpoints that
 * answer one JSON document when the client does not want a stream. Fields, comments, `done` and
 * heartbeats are left out.
 *
 * @throws whatever the producer throws, at any point: there is no stream to end with an error event.
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
  options: StreamOptions<T> = {},
  signal?: AbortSignal,
): Promise<string> {
  signal?.throwIfAborted(); // an `abort` listener added now would never fire
  const { map, event } = options;
  const config = resolveOptions<T>({
    format: 'raw',
    map,
    event,
    heartbeat: false,
    errorEvent: false,
  });
  const parts: string[] = [];
  let failure: { error: unknown } | undefined;
  const run = runStream(
    {
      commit: noop,
      write: (chunk) => (parts.push(chunk), true),
      waitForDrain: () => RESOLVED,
      close: noop,
    },
    producer,
    { ...config, onError: (error) => (failure = { error }) },
  );
  const stop = (): void => run.abort(signal?.reason);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    await run.ready;
    await run.done;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  if (failure) throw failure.error;
  if (signal?.aborted) throw signal.reason;
  return parts.join('');
}
