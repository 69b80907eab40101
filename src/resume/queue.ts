/**
 * A bounded queue of live events for one reader: what a store's tail (or a producer's local
 * fan-out) pushes into without ever waiting for the reader. Past its limit the reader is cut: the
 * queue is freed and the reader's next `next()` throws `READER_OVERFLOW`, so a paused reader costs
 * a bounded amount of memory and never delays the others.
 * @module
 */
import { SseError } from '../errors.js';
import type { ReadBatch, StoredEvent, StreamEnd } from './store.js';

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A reader's queue of live events; also its async iterator of {@link ReadBatch}es. Exported for
 * store implementations (the Redis store's tail loop pushes into one per reader).
 *
 * @example Feeding one reader
 * ```ts
 * import { ReaderQueue } from 'ssekit/resume';
 *
 * const queue = new ReaderQueue(2);
 * queue.push([{ seq: 1, data: 'a' }]);
 * queue.end({ state: 'done', reason: undefined });
 * for await (const batch of queue) console.log(batch.events.length, batch.end?.state); // 1 'done'
 * ```
 */
export class ReaderQueue implements AsyncIterableIterator<ReadBatch> {
  /** The most queued events before the reader is cut. */
  readonly limit: number;
  /** Whether the reader has finished (its end, an error, or `return()`). */
  finished = false;
  /** Called once when the reader finishes for any reason (for its owner's bookkeeping). */
  onFinish: (() => void) | undefined = undefined;
  /** Called after the reader took events (its owner may push again). */
  onTake: (() => void) | undefined = undefined;
  #events: StoredEvent[] = [];
  #end: StreamEnd | undefined = undefined;
  #error: unknown = undefined;
  #failed = false;
  #wake: (() => void) | undefined = undefined;

  /** @param limit - the most live events held for this reader (a positive integer) */
  constructor(limit: number) {
    if (!(Number.isSafeInteger(limit) && limit > 0)) {
      throw new RangeError(`\`limit\` must be a positive integer, received ${String(limit)}`);
    }
    this.limit = limit;
  }

  /** The number of events waiting to be taken. */
  get size(): number {
    return this.#events.length;
  }

  /** Whether this reader can still take pushes (not finished, not cut, not ended). */
  get open(): boolean {
    return !this.finished && !this.#failed && this.#end === undefined;
  }

  /**
   * Queues events (never waits); cuts the reader with `READER_OVERFLOW` when they pass the limit.
   * @returns `false` when the reader is no longer open (cut, ended or gone): stop pushing to it
   */
  push(events: readonly StoredEvent[]): boolean {
    if (!this.open) return false;
    if (this.#events.length + events.length > this.limit) {
      this.fail(
        new SseError(
          'READER_OVERFLOW',
          `the reader fell more than ${this.limit} events behind and was cut; it resumes from its last id`,
          { field: 'limit' },
        ),
      );
      return false;
    }
    for (const event of events) this.#events.push(event);
    this.#release();
    return true;
  }

  /** Ends the reader after what is queued: its last batch carries `end`. */
  end(end: StreamEnd): void {
    if (!this.open) return;
    this.#end = end;
    this.#release();
  }

  /** Fails the reader: the queue is freed and its next `next()` throws `error`. */
  fail(error: unknown): void {
    if (!this.open) return;
    this.#failed = true;
    this.#error = error;
    this.#events = [];
    this.#release();
  }

  /** Resolves when something can be taken; for readers that mix this queue with other sources. */
  async next(): Promise<IteratorResult<ReadBatch, undefined>> {
    for (;;) {
      if (this.finished) return DONE;
      if (this.#failed) {
        this.#finish();
        throw this.#error;
      }
      if (this.#events.length > 0 || this.#end !== undefined) {
        const events = this.#events;
        this.#events = [];
        const end = this.#end;
        if (end !== undefined) this.#finish();
        else this.onTake?.();
        return { done: false, value: end === undefined ? { events } : { events, end } };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Stops the reader (a `for await` that breaks calls this). */
  return(): Promise<IteratorResult<ReadBatch, undefined>> {
    this.#events = [];
    this.#finish();
    this.#release();
    return Promise.resolve(DONE);
  }

  /** The queue is its own iterator. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): void {
    if (this.finished) return;
    this.finished = true;
    const onFinish = this.onFinish;
    this.onFinish = undefined;
    onFinish?.();
  }

  #release(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
