/**
 * Per-stream lifecycle and stats: start, time to first *content* event, events, bytes,
 * heartbeats, duration, resume outcome and the end reason, given to the endpoint's `lifecycle`
 * hooks. Built on the engine's {@link StreamProbe}: an endpoint without hooks pays nothing.
 * @module
 */
import { isSseError } from './errors.js';
import {
  type FrameKind,
  probeOf,
  type SseTransport,
  type SseWriter,
  type StreamProbe,
  type StreamRun,
} from './stream.js';

/**
 * Why a stream ended:
 * - `done`: the producer finished (or called `writer.close()`);
 * - `client_gone`: the client went away;
 * - `error`: the producer failed (before or after the first frame);
 * - `queue_overflow`: the producer ignored backpressure past `queueLimit`;
 * - `stopped`: stopped on purpose (a resumable stream's stop);
 * - `drain`: ended by `drain()`;
 * - `limit`: ended at `maxLifetime` or `maxIdle`.
 */
export type EndReason =
  'done' | 'client_gone' | 'error' | 'queue_overflow' | 'stopped' | 'drain' | 'limit';

/** How a resumable stream's response began: the `SSEKit-Resume` header's value. */
export type ResumeOutcome = 'new' | 'continued' | 'reset';

/** One stream's figures, live while it runs and final in {@link StreamLifecycle.onEnd}. */
export interface StreamStats {
  /** When the stream started, in milliseconds since the epoch (`Date.now()`). */
  readonly startedAt: number;
  /**
   * Milliseconds from the start to the first event the producer sent (time to first token):
   * heartbeats, comments and the opening frames do not count. `undefined` until then.
   */
  readonly timeToFirstEvent: number | undefined;
  /** Events the producer sent; ssekit's own end frames (`done`, error, drain, limit) are not counted. */
  readonly events: number;
  /**
   * UTF-8 bytes of body handed to the connection: every frame, end frames and heartbeats
   * included. ssekit's transports count them as they write (frames still queued when a client
   * leaves are not counted); a transport of your own without `written()` gets each accepted
   * frame counted.
   */
  readonly bytes: number;
  /** Heartbeat comments sent. */
  readonly heartbeats: number;
  /** Milliseconds from the start to the end; `undefined` while the stream runs. */
  readonly duration: number | undefined;
  /** Why the stream ended; `undefined` while it runs. */
  readonly reason: EndReason | undefined;
  /** The abort or error reason behind `reason` (an `SseError` for ssekit's own). */
  readonly error: unknown;
  /** The resumable stream's outcome, when one was reported with {@link reportResume}. */
  readonly resume: ResumeOutcome | undefined;
}

/**
 * Hooks called for every stream of an endpoint (the `lifecycle` option). A hook that throws does
 * not affect the stream: its error goes to the endpoint's `onError`, or, without one, is thrown
 * outside the stream (an uncaught exception).
 */
export interface StreamLifecycle {
  /** The stream starts: before its producer runs, in the request's async context. */
  onStart?(stats: StreamStats): void;
  /** The producer's first event was accepted for sending. */
  onFirstEvent?(stats: StreamStats): void;
  /** The stream ended (the figures are final). */
  onEnd?(stats: StreamStats): void;
}

/**
 * Maps an end reason from the engine (`undefined`, or the abort or error reason) to an
 * {@link EndReason}.
 *
 * @example Reasons of ssekit's own errors
 * ```ts
 * import { endReason, SseError } from 'ssekit';
 *
 * endReason(undefined); // 'done'
 * endReason(new SseError('CLIENT_GONE', 'gone')); // 'client_gone'
 * endReason(new Error('boom')); // 'error'
 * ```
 */
export function endReason(reason: unknown): EndReason {
  if (reason === undefined) return 'done';
  if (!isSseError(reason)) return 'error';
  switch (reason.code) {
    case 'CLIENT_GONE':
      return 'client_gone';
    case 'QUEUE_OVERFLOW':
      return 'queue_overflow';
    case 'DRAINING':
      return 'drain';
    case 'STREAM_LIMIT':
      return 'limit';
    case 'STOPPED':
      return 'stopped';
    default:
      return 'error';
  }
}

/** The scratch buffer's size: frames up to a third of it (in code units) are measured in it. */
const SCRATCH_BYTES = 64 * 1024;
let scratch: Uint8Array | undefined; // made on first use: endpoints without hooks never pay for it
let encoder: TextEncoder | undefined;

/**
 * The UTF-8 length of a string as Node and `TextEncoder` encode it (a lone surrogate becomes
 * U+FFFD, 3 bytes). `encodeInto` a reused buffer is the fastest exact count measured (bench/stats.ts
 * notes: about 35 ns for a token frame, against 55 for a regex test and 80 for a char loop).
 */
function utf8Length(text: string): number {
  encoder ??= new TextEncoder();
  if (text.length * 3 > SCRATCH_BYTES) return encoder.encode(text).byteLength;
  scratch ??= new Uint8Array(SCRATCH_BYTES);
  return encoder.encodeInto(text, scratch).written;
}

class Stats implements StreamStats, StreamProbe {
  readonly startedAt = Date.now();
  readonly #start = performance.now();
  timeToFirstEvent: number | undefined = undefined;
  events = 0;
  heartbeats = 0;
  duration: number | undefined = undefined;
  reason: EndReason | undefined = undefined;
  error: unknown = undefined;
  resume: ResumeOutcome | undefined = undefined;
  readonly #hooks: readonly StreamLifecycle[];
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #transport: SseTransport;
  readonly #countFrames: boolean; // the transport does not count its bytes
  #counted = 0;
  #final: number | undefined = undefined;

  constructor(
    hooks: readonly StreamLifecycle[],
    onError: ((error: unknown) => void) | undefined,
    transport: SseTransport,
  ) {
    this.#hooks = hooks;
    this.#onError = onError;
    this.#transport = transport;
    this.#countFrames = typeof transport.written !== 'function';
    this.#call('onStart');
  }

  get bytes(): number {
    if (this.#final !== undefined) return this.#final;
    return this.#countFrames ? this.#counted : (this.#transport.written?.() ?? 0);
  }

  frame(kind: FrameKind, frame: string): void {
    if (this.#countFrames) this.#counted += utf8Length(frame);
    if (kind === 'event') {
      this.events++;
      if (this.timeToFirstEvent === undefined) {
        this.timeToFirstEvent = performance.now() - this.#start;
        this.#call('onFirstEvent');
      }
    } else if (kind === 'heartbeat') this.heartbeats++;
  }

  end(reason: unknown): void {
    this.#final = this.bytes;
    this.duration = performance.now() - this.#start;
    this.reason = endReason(reason);
    this.error = reason;
    this.#call('onEnd');
  }

  resumed(outcome: ResumeOutcome): void {
    this.resume = outcome;
  }

  #call(name: keyof StreamLifecycle): void {
    for (const hooks of this.#hooks) {
      try {
        hooks[name]?.(this);
      } catch (error) {
        // A hook's fault is the app's to see, never the stream's: to `onError`, or else thrown
        // outside the stream, as an uncaught exception.
        const onError = this.#onError;
        queueMicrotask(
          onError === undefined
            ? () => {
                throw error;
              }
            : () => onError(error),
        );
      }
    }
  }
}

/**
 * Makes the probe factory for an endpoint's `lifecycle` hooks (what `resolveOptions` puts in
 * `StreamConfig.observe`).
 * @internal
 */
export function statsObserver(
  hooks: readonly StreamLifecycle[],
  onError: ((error: unknown) => void) | undefined,
): (run: StreamRun, transport: SseTransport) => StreamProbe {
  return (_run, transport) => new Stats(hooks, onError, transport);
}

/**
 * Combines probe factories into one (each stream gets every probe, in order).
 * @internal
 */
export function combineObservers(
  observers: readonly ((run: StreamRun, transport: SseTransport) => StreamProbe | undefined)[],
): ((run: StreamRun, transport: SseTransport) => StreamProbe | undefined) | undefined {
  if (observers.length <= 1) return observers[0];
  return function observeAll(run, transport) {
    const probes: StreamProbe[] = [];
    for (const observe of observers) {
      const probe = observe(run, transport);
      if (probe !== undefined) probes.push(probe);
    }
    return {
      frame(kind, frame) {
        for (const probe of probes) probe.frame(kind, frame);
      },
      end(reason) {
        for (const probe of probes) probe.end(reason);
      },
      resumed(outcome) {
        for (const probe of probes) probe.resumed?.(outcome);
      },
    };
  };
}

/**
 * Reports how a resumable stream began (`new`, `continued` or `reset`) to its endpoint's stats and
 * OpenTelemetry; a no-op when the endpoint observes nothing.
 *
 * @example From a handler that resumes a stream
 * ```ts
 * import { reportResume, type SseWriter } from 'ssekit';
 *
 * function onResumed(writer: SseWriter, continued: boolean) {
 *   reportResume(writer, continued ? 'continued' : 'reset');
 * }
 * ```
 */
export function reportResume(target: SseWriter | StreamRun, outcome: ResumeOutcome): void {
  probeOf(target)?.resumed?.(outcome);
}
