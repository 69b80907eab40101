/**
 * The Redis store: the {@link ResumeStore} interface translated onto Redis Streams. One log
 * (stream key) per generation, written with one fenced `XADD` per coalesced flush (a Lua script:
 * one round trip); history by `XRANGE` in pages; the live tail by ONE `XREAD BLOCK` loop per
 * store instance; liveness by a producer lease that readers check; stop by a durable key plus
 * one pub/sub control channel per instance.
 * @module
 */
import { SseError } from '../../src/errors.js';
import { isGeneration, resolveStoreOptions, unref } from '../../src/resume/config.js';
import { ReaderQueue } from '../../src/resume/queue.js';
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
  TerminalState,
} from '../../src/resume/store.js';
import type { RedisConnection, RedisSubscription } from './client.js';
import { createCommands, script } from './commands.js';
import { compareIds, type Entry, parseEntries, parseTuple } from './replies.js';
import * as lua from './scripts.js';
import { createTail } from './tail.js';

/** Options of {@link redisStore}, on top of the {@link StoreOptions} every store takes. */
export interface RedisStoreOptions extends StoreOptions {
  /** The connection, from `fromNodeRedis(client)` or `fromIORedis(client)`. */
  client: RedisConnection;
  /**
   * The first part of every key and channel name (no `{`, `}` or whitespace). Keys are
   * `{<prefix>:<P>}:<kind>:<streamId>…` with `P` a hash of the stream id in `0..63`: the braces
   * are a Cluster hash tag keeping one stream's keys in one slot.
   * @defaultValue `'ssekit'`
   */
  prefix?: string | undefined;
  /**
   * Milliseconds a command (with its retries over a dropped connection) may take before it
   * rejects with `STORE_UNAVAILABLE`.
   * @defaultValue `5000`
   */
  timeoutMs?: number | undefined;
  /**
   * The most commands pending at once; past it new ones reject at once with
   * `STORE_UNAVAILABLE` (a slow Redis costs bounded memory, not an unbounded queue).
   * @defaultValue `10000`
   */
  maxPending?: number | undefined;
  /** Entries per `XRANGE` page when reading history. @defaultValue `512` */
  pageSize?: number | undefined;
  /**
   * `XREAD BLOCK` timeout of the tail loop, in ms. Keep it under the client's command timeout
   * (node-redis 6 and ioredis apply theirs to blocking commands too).
   * @defaultValue `1000`
   */
  blockMs?: number | undefined;
  /** Errors of the connections the store opens itself, for logging. @defaultValue ignore them */
  onError?: ((error: unknown) => void) | undefined;
}

const PARTITIONS = 64;
/** Followed generations checked per script call. */
const WATCH_BATCH = 100;
const STOP_TTL_MS = 60 * 60_000;

/** FNV-1a of the stream id, for its partition. */
function partition(streamId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamId.length; i++) {
    hash ^= streamId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % PARTITIONS;
}

function positive(field: string, value: number): number {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`${field}\` must be a positive integer, received ${String(value)}`,
      { field },
    );
  }
  return value;
}

/** Waits for `promise`, at most `ms` (then goes on; `promise` is handled by its own code). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

const TERMINAL = new Set<string>(['done', 'error', 'stopped', 'lost']);

/** One generation this instance follows: one tail subscription, many local readers. */
interface Followed {
  readonly streamId: string;
  readonly gen: string;
  readonly readers: Set<LocalReader>;
  unfollow: () => void;
  /** A check of this generation is out (the next tick skips it rather than pile up). */
  checking: boolean;
}

/** One append in flight on this instance: its first seq and its outcome. */
interface Appending {
  readonly first: number;
  done: Promise<void>;
}

interface LocalReader {
  readonly queue: ReaderQueue;
  /** The last seq pushed to (or read by) this reader: later pushes skip what it has. */
  pushed: number;
}

/** Decodes the events of one log entry (none for the terminal entry). */
function eventsOf(entry: Entry): StoredEvent[] {
  const first = Number(entry.fields['f']);
  let batch: [unknown, string?][];
  try {
    batch = JSON.parse(entry.fields['b'] ?? '[]') as [unknown, string?][];
  } catch (error) {
    // Not written by this store (the keys are its own): a fault of the backend's data.
    throw new SseError('STORE_UNAVAILABLE', `log entry ${entry.id} is not a batch of events`, {
      cause: error,
    });
  }
  return batch.map(([data, event], i) =>
    event === undefined ? { seq: first + i, data } : { seq: first + i, data, event },
  );
}

function endOf(entry: Entry): StreamEnd | undefined {
  const state = entry.fields['t'];
  if (state === undefined || !TERMINAL.has(state)) return undefined;
  const reason = entry.fields['c'];
  return { state: state as TerminalState, reason: reason === '' ? undefined : reason };
}

/**
 * Creates a Redis store. The client is the app's (connected; see `fromNodeRedis` and
 * `fromIORedis`); the store opens two more connections from it, lazily: one for the tail loop's
 * blocking reads and one for the control channel.
 *
 * @example Two instances on one Redis
 * ```ts
 * import { createClient } from 'redis';
 * import { fromNodeRedis, redisStore } from 'ssekit/redis';
 *
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on('error', (error) => console.error('redis', error));
 * await client.connect();
 * const store = redisStore({ client: fromNodeRedis(client), leaseMs: 3_000 });
 * ```
 */
export function redisStore(options: RedisStoreOptions): ResumeStore {
  if (typeof options !== 'object' || options === null) {
    throw new SseError('INVALID_OPTION', '`options` must be an object', { field: 'options' });
  }
  const config = resolveStoreOptions(options);
  const { client, prefix = 'ssekit', onError = () => {} } = options;
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.send !== 'function' ||
    typeof client.duplicate !== 'function' ||
    typeof client.subscribe !== 'function'
  ) {
    throw new SseError(
      'INVALID_OPTION',
      '`client` must be a Redis connection: pass fromNodeRedis(client) or fromIORedis(client)',
      { field: 'client' },
    );
  }
  if (typeof prefix !== 'string' || !/^[^{}\s]+$/.test(prefix)) {
    throw new SseError(
      'INVALID_OPTION',
      `\`prefix\` must be a non-empty string without braces or whitespace, received ${String(prefix)}`,
      { field: 'prefix' },
    );
  }
  const timeoutMs = positive('timeoutMs', options.timeoutMs ?? 5_000);
  const maxPending = positive('maxPending', options.maxPending ?? 10_000);
  const pageSize = positive('pageSize', options.pageSize ?? 512);
  const blockMs = positive('blockMs', options.blockMs ?? 1_000);
  const { leaseMs, maxEvents, afterDoneMs, idleMs, readerLimit } = config;

  const instanceId = [...crypto.getRandomValues(new Uint8Array(12))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
  const control = `${prefix}:ctl:`;
  const commands = createCommands(client, { timeoutMs, maxPending });
  const tail = createTail(client, commands, {
    blockMs,
    graceMs: timeoutMs,
    count: pageSize,
    onError,
  });
  const scripts = {
    create: script(lua.CREATE),
    append: script(lua.APPEND),
    finalize: script(lua.FINALIZE),
    renew: script(lua.RENEW),
    watch: script(lua.WATCH),
    stop: script(lua.STOP),
    open: script(lua.OPEN),
  };

  const keys = (streamId: string) => {
    const tag = `{${prefix}:${String(partition(streamId))}}`;
    return {
      meta: `${tag}:meta:${streamId}`,
      lease: `${tag}:lease:${streamId}`,
      stop: `${tag}:stop:${streamId}`,
      readers: `${tag}:readers:${streamId}`,
      logPrefix: `${tag}:log:${streamId}:`,
      log: (gen: string) => `${tag}:log:${streamId}:${gen}`,
    };
  };

  const followed = new Map<string, Followed>();
  /** The appends in flight here, per log key (createResumable keeps a few per generation). */
  const appending = new Map<string, Set<Appending>>();
  const stopListeners = new Set<(streamId: string, gen: string) => void>();
  let subscription: Promise<RedisSubscription | undefined> | undefined;
  let closed = false;

  const unavailable = (what: string): SseError =>
    new SseError('STORE_UNAVAILABLE', `the Redis store is closed (${what})`);

  const guard = (what: string): void => {
    if (closed) throw unavailable(what);
  };

  const toMeta = (streamId: string, tuple: unknown[]): StreamMeta => {
    const [gen, state, last, owner, tags, reason, created, updated, first] = tuple as string[];
    return {
      streamId,
      gen: gen ?? '',
      state: (state ?? 'live') as StreamState,
      lastSeq: Number(last),
      firstSeq: Number(first),
      tags: JSON.parse(tags || '{}') as Record<string, string>,
      reason: reason === '' || state === 'live' ? undefined : reason,
      owner: owner ?? '',
      createdAt: Number(created),
      updatedAt: Number(updated),
    };
  };

  /**
   * Feeds every local reader of a generation (deduplicated by seq), and ends them at `end`: all
   * of them when the tail loop delivered the terminal entry (`endSeq` undefined: everything
   * before it was delivered first), else those that have every event up to `endSeq` (a local
   * finalize; the others end when the loop delivers the terminal entry after their events).
   */
  const dispatch = (
    logKey: string,
    events: readonly StoredEvent[],
    end: StreamEnd | undefined,
    endSeq?: number,
  ): void => {
    const stream = followed.get(logKey);
    if (stream === undefined) return;
    for (const reader of stream.readers) {
      const fresh = events.filter((event) => event.seq > reader.pushed);
      // Only what continues the reader's seq: a local append can run ahead of the tail loop
      // (which has not delivered the entries before it yet); the loop delivers those in order.
      if (fresh.length > 0 && fresh[0]?.seq === reader.pushed + 1) {
        if (reader.queue.push(fresh)) reader.pushed = fresh.at(-1)?.seq ?? reader.pushed;
      }
      if (end !== undefined && (endSeq === undefined || reader.pushed >= endSeq)) {
        reader.queue.end(end);
      }
    }
    if (end !== undefined && endSeq === undefined) {
      stream.unfollow();
      followed.delete(logKey);
    }
  };

  const failAll = (logKey: string, error: unknown, only?: Followed): void => {
    const stream = followed.get(logKey);
    if (stream === undefined || (only !== undefined && stream !== only)) return;
    for (const reader of stream.readers) reader.queue.fail(error);
    stream.unfollow();
    followed.delete(logKey);
  };

  const onEntries = (logKey: string, entries: readonly Entry[]): void => {
    const events: StoredEvent[] = [];
    let end: StreamEnd | undefined;
    try {
      for (const entry of entries) {
        end = endOf(entry);
        if (end !== undefined) break;
        for (const event of eventsOf(entry)) events.push(event);
      }
    } catch (error) {
      // An entry that cannot be read ends this generation's readers (they resume and get it
      // again, as an error); the loop goes on for the other streams.
      failAll(logKey, error);
      return;
    }
    dispatch(logKey, events, end);
  };

  /**
   * Checks followed generations (readers registry + lost detection), up to
   * `WATCH_BATCH` per script call.
   */
  const watch = async (batch: readonly (readonly [string, Followed])[]): Promise<void> => {
    const keyList: string[] = [];
    const args = [instanceId, String(leaseMs), String(afterDoneMs), String(Date.now())];
    for (const [logKey, stream] of batch) {
      const k = keys(stream.streamId);
      keyList.push(k.meta, logKey, k.lease, k.readers);
      args.push(stream.gen, String(stream.readers.size));
    }
    let reply: unknown[];
    try {
      reply = parseTuple(await commands.script(scripts.watch, keyList, args));
    } catch (error) {
      // The check could not run (Redis down past timeoutMs): the readers cannot be kept
      // honest about liveness any more, so they end with the typed store error.
      for (const [logKey, stream] of batch) failAll(logKey, error, stream);
      return;
    }
    batch.forEach(([logKey, stream], i) => {
      const status = reply[i];
      if (status !== 'missing' && status !== 'changed') return;
      // 'live', 'ended' and 'lost' need nothing: the log holds (or now holds) what comes next,
      // and the tail loop delivers it.
      failAll(
        logKey,
        new SseError(
          'GENERATION_GONE',
          status === 'missing'
            ? `stream ${stream.streamId} is no longer in Redis (expired, or Redis lost its data)`
            : `stream ${stream.streamId} has a new generation; ${stream.gen} is gone`,
        ),
        stream,
      );
    });
  };

  const watching = new Set<Promise<void>>();
  const track = (check: Promise<void>): void => {
    watching.add(check);
    void check.finally(() => watching.delete(check));
  };
  const tick = (): void => {
    let batch: [string, Followed][] = [];
    const send = (): void => {
      const sent = batch;
      batch = [];
      track(
        watch(sent).finally(() => {
          for (const [, stream] of sent) stream.checking = false;
        }),
      );
    };
    for (const [logKey, stream] of followed) {
      if (stream.checking) continue;
      stream.checking = true;
      batch.push([logKey, stream]);
      if (batch.length === WATCH_BATCH) send();
    }
    if (batch.length > 0) send();
  };
  const timer = setInterval(tick, Math.max(1, Math.floor(leaseMs / 3)));
  unref(timer);

  /** Subscribes to this instance's control channel once; resolves when it is listening. */
  const ensureSubscription = (): Promise<RedisSubscription | undefined> => {
    if (closed) return Promise.resolve(undefined);
    if (subscription !== undefined) return subscription;
    subscription = client
      .subscribe(control + instanceId, (message) => {
        let parsed: { sid?: unknown; gen?: unknown };
        try {
          parsed = JSON.parse(message) as typeof parsed;
        } catch (error) {
          onError(error); // not ours: the channel name is this instance's random id
          return;
        }
        const { sid, gen } = parsed;
        if (typeof sid !== 'string' || typeof gen !== 'string') return;
        for (const listener of stopListeners) queueMicrotask(() => listener(sid, gen));
      })
      .catch((error: unknown) => {
        // No control channel: stop requests still reach the producer through the durable stop
        // key on its next renew (every leaseMs / 3). Try again on the next onStop.
        onError(error);
        subscription = undefined;
        return undefined;
      });
    return subscription;
  };

  async function* read(
    streamId: string,
    gen: string,
    after: number,
    readOptions: ReadOptions = {},
  ): AsyncGenerator<ReadBatch, undefined> {
    guard('read');
    if (!(Number.isSafeInteger(after) && after >= 0)) {
      throw new RangeError(
        `\`after\` must be a non-negative integer seq, received ${String(after)}`,
      );
    }
    const limit = readOptions.limit ?? readerLimit;
    const signal = readOptions.signal;
    const k = keys(streamId);
    const logKey = k.log(gen);
    const opened = parseTuple(
      await commands.script(
        scripts.open,
        [k.meta],
        [k.logPrefix, String(maxEvents), gen, String(after), String(pageSize)],
      ),
    );
    if (opened.length === 0 || opened[0] !== gen) {
      throw new SseError('GENERATION_GONE', `stream ${streamId} has no generation ${gen}`);
    }
    const meta = toMeta(streamId, opened);
    if (after > meta.lastSeq) {
      throw new RangeError(
        `\`after\` (${String(after)}) is beyond the last seq of ${streamId} (${String(meta.lastSeq)})`,
      );
    }
    if (after < meta.firstSeq - 1) {
      throw new SseError(
        'READER_OVERFLOW',
        `events after ${String(after)} of ${streamId} were trimmed (the oldest kept is ${String(meta.firstSeq)})`,
      );
    }

    // History, in pages, from the one cursor.
    let cursor = after;
    let lastId = `${String(after)}-0`;
    let page = parseEntries(opened[9]);
    for (;;) {
      if (signal?.aborted === true) return undefined;
      const events: StoredEvent[] = [];
      let end: StreamEnd | undefined;
      for (const entry of page) {
        lastId = entry.id;
        end = endOf(entry);
        if (end !== undefined) break;
        for (const event of eventsOf(entry)) if (event.seq > cursor) events.push(event);
      }
      const last = events.at(-1);
      if (last !== undefined) cursor = last.seq;
      if (end !== undefined) {
        yield { events, end };
        return undefined;
      }
      if (events.length > 0) yield { events };
      if (page.length < pageSize) break;
      page = parseEntries(
        await commands.send(['XRANGE', logKey, `(${lastId}`, '+', 'COUNT', String(pageSize)]),
      );
    }
    guard('read');

    // Live: register with the tail loop, then catch up on what it delivered to others meanwhile.
    const queue = new ReaderQueue(limit);
    const reader: LocalReader = { queue, pushed: cursor };
    let stream = followed.get(logKey);
    let caughtUpTo = lastId;
    if (stream === undefined) {
      const created: Followed = {
        streamId,
        gen,
        readers: new Set(),
        unfollow: () => {},
        checking: false,
      };
      created.unfollow = tail.follow(logKey, lastId, {
        entries: (entries) => onEntries(logKey, entries),
      });
      followed.set(logKey, created);
      stream = created;
    } else {
      const position = tail.position(logKey) ?? lastId;
      if (compareIds(position, lastId) > 0) {
        caughtUpTo = position;
        // The loop already delivered (lastId, position] to the other readers: push nothing up
        // to there into this queue; the catch-up below reads it from the log.
        reader.pushed = Number(position.split('-')[0]);
      }
    }
    stream.readers.add(reader);
    const own = stream;
    queue.onFinish = () => {
      own.readers.delete(reader);
      if (own.readers.size === 0 && followed.get(logKey) === own) {
        own.unfollow();
        followed.delete(logKey);
      }
      // Update this instance's reader count now (the producer's next renew sees it).
      if (!closed) track(watch([[logKey, own]]));
    };
    const abort = (): void => void queue.return();
    signal?.addEventListener('abort', abort, { once: true });
    // Register this reader at once (the producer counts it at its next renew) and check the
    // generation is still there.
    track(watch([[logKey, own]]));

    try {
      while (compareIds(caughtUpTo, lastId) > 0) {
        const entries = parseEntries(
          await commands.send([
            'XRANGE',
            logKey,
            `(${lastId}`,
            caughtUpTo,
            'COUNT',
            String(pageSize),
          ]),
        );
        if (entries.length === 0) break;
        const events: StoredEvent[] = [];
        for (const entry of entries) {
          lastId = entry.id;
          for (const event of eventsOf(entry)) if (event.seq > cursor) events.push(event);
        }
        const last = events.at(-1);
        if (last !== undefined) cursor = last.seq;
        if (events.length > 0) yield { events };
      }
      for (;;) {
        const next = await queue.next();
        if (next.done === true) return undefined;
        yield next.value;
        if (next.value.end !== undefined) return undefined;
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      await queue.return();
    }
  }

  /** One append's script calls (see `append`): retried past a stored prefix, fenced. */
  const appendBatch = async (
    k: ReturnType<typeof keys>,
    logKey: string,
    streamId: string,
    gen: string,
    events: readonly StoredEvent[],
    running: ReadonlySet<Appending>,
  ): Promise<void> => {
    let batch = events;
    for (;;) {
      const first = (batch[0] as StoredEvent).seq;
      const last = (batch.at(-1) as StoredEvent).seq;
      const reply = parseTuple(
        await commands.script(
          scripts.append,
          [k.meta, logKey],
          [
            gen,
            instanceId,
            String(first),
            String(last),
            JSON.stringify(
              batch.map((e) => (e.event === undefined ? [e.data] : [e.data, e.event])),
            ),
            String(maxEvents),
            String(idleMs),
            String(Date.now()),
          ],
        ),
      );
      if (reply[0] === 'ok') break;
      if (reply[0] === 'fenced') {
        throw new SseError(
          'STORE_FENCED',
          reply[1] === ''
            ? `stream ${streamId} generation ${gen} is no longer in Redis (expired, replaced, or Redis lost its data)`
            : `stream ${streamId} generation ${gen} is ${String(reply[1])}, not live: appends are refused`,
        );
      }
      const stored = Number(reply[1]);
      if (stored < first - 1) {
        const earlier = [...running].filter((other) => other.first < first);
        if (earlier.length > 0) {
          await Promise.allSettled(earlier.map((other) => other.done));
          continue;
        }
        throw new RangeError(
          `\`events\` must continue seq ${String(stored)} of ${streamId}, received ${String(first)}`,
        );
      }
      // A retry of a stored append: skip what is stored, append the rest.
      batch = batch.filter((e) => e.seq > stored);
      if (batch.length === 0) return;
    }
    dispatch(logKey, batch, undefined);
  };

  const store: ResumeStore = {
    instanceId,
    leaseMs,

    async create(streamId: string, input: CreateInput): Promise<CreateResult> {
      guard('create');
      if (typeof streamId !== 'string' || streamId === '') {
        throw new RangeError(
          `\`streamId\` must be a non-empty string, received ${String(streamId)}`,
        );
      }
      if (!isGeneration(input.gen)) {
        throw new RangeError(
          `\`gen\` must be 1-32 chars of [A-Za-z0-9_-], received ${String(input.gen)}`,
        );
      }
      if (!['join', 'conflict', 'replace'].includes(input.ifRunning)) {
        throw new RangeError(
          `\`ifRunning\` must be 'join', 'conflict' or 'replace', received ${String(input.ifRunning)}`,
        );
      }
      // A producer must hear stop requests from its first event on: be subscribed first.
      // Bounded: without it, stops still arrive through the durable key on the next renew.
      if (stopListeners.size > 0) await within(ensureSubscription(), timeoutMs);
      const k = keys(streamId);
      const reply = parseTuple(
        await commands.script(
          scripts.create,
          [k.meta, k.lease, k.stop],
          [
            input.gen,
            instanceId,
            String(leaseMs),
            String(idleMs),
            input.ifRunning,
            String(Date.now()),
            JSON.stringify(input.tags ?? {}),
            k.logPrefix,
            String(maxEvents),
            control,
            streamId,
            String(STOP_TTL_MS),
            String(afterDoneMs),
          ],
        ),
      );
      const meta = toMeta(streamId, reply.slice(1));
      if (reply[0] === 'created') return { role: 'producer', meta };
      return { role: input.ifRunning === 'conflict' ? 'conflict' : 'follower', meta };
    },

    async append(streamId: string, gen: string, events: readonly StoredEvent[]): Promise<void> {
      guard('append');
      if (events.length === 0) throw new RangeError('`events` must not be empty');
      for (let i = 1; i < events.length; i++) {
        if ((events[i] as StoredEvent).seq !== (events[i - 1] as StoredEvent).seq + 1) {
          throw new RangeError(
            `\`events\` must have consecutive seqs (gap after index ${String(i - 1)})`,
          );
        }
      }
      const k = keys(streamId);
      const logKey = k.log(gen);
      // createResumable pipelines a generation's appends; after a dropped connection their
      // retries may land out of order. A gap behind an earlier append of this log still in flight
      // here waits for it, then tries again; any other gap is refused.
      const first = (events[0] as StoredEvent).seq;
      const running = appending.get(logKey) ?? new Set<Appending>();
      appending.set(logKey, running);
      const own: Appending = { first, done: Promise.resolve() };
      own.done = appendBatch(k, logKey, streamId, gen, events, running);
      running.add(own);
      try {
        await own.done;
      } finally {
        running.delete(own);
        if (running.size === 0 && appending.get(logKey) === running) appending.delete(logKey);
      }
    },

    async finalize(streamId: string, gen: string, end: StreamEnd): Promise<boolean> {
      guard('finalize');
      const k = keys(streamId);
      const reply = parseTuple(
        await commands.script(
          scripts.finalize,
          [k.meta, k.log(gen), k.lease, k.stop],
          [gen, end.state, end.reason ?? '', String(afterDoneMs), String(Date.now())],
        ),
      );
      if (reply[0] !== 'ok') return false;
      dispatch(k.log(gen), [], end, Number(reply[1]));
      return true;
    },

    async meta(streamId: string): Promise<StreamMeta | undefined> {
      guard('meta');
      const k = keys(streamId);
      const reply = parseTuple(
        await commands.script(
          scripts.open,
          [k.meta],
          [k.logPrefix, String(maxEvents), '', '0', '0'],
        ),
      );
      return reply.length === 0 ? undefined : toMeta(streamId, reply);
    },

    read,

    async renew(streamId: string, gen: string): Promise<RenewResult> {
      guard('renew');
      const k = keys(streamId);
      const reply = parseTuple(
        await commands.script(
          scripts.renew,
          [k.meta, k.lease, k.stop, k.readers],
          [gen, instanceId, String(leaseMs)],
        ),
      );
      if (reply[0] !== 'ok') {
        throw new SseError(
          'STORE_FENCED',
          `stream ${streamId} generation ${gen} is not this instance's live generation`,
        );
      }
      return { stop: reply[1] === '1', readers: Number(reply[2]) };
    },

    async requestStop(streamId: string): Promise<StreamMeta | undefined> {
      guard('requestStop');
      const k = keys(streamId);
      const reply = parseTuple(
        await commands.script(
          scripts.stop,
          [k.meta, k.stop],
          [String(STOP_TTL_MS), control, streamId, k.logPrefix, String(maxEvents)],
        ),
      );
      return reply.length === 0 ? undefined : toMeta(streamId, reply);
    },

    onStop(listener) {
      stopListeners.add(listener);
      void ensureSubscription();
      return () => {
        stopListeners.delete(listener);
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      for (const logKey of [...followed.keys()]) failAll(logKey, unavailable('closed'));
      await tail.close();
      await Promise.allSettled([...watching]);
      // The control connection may still be connecting to a server that is gone: close it
      // whenever it opens, without waiting for that here.
      subscription?.then((sub) => sub?.close()).catch(onError);
    },
  };
  return store;
}
