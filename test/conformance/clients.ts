/**
 * Client-side helpers of the conformance suite: real requests, an SSE reader built on
 * eventsource-parser (someone else's parser), and the lockstep that proves "no buffering"
 * without timing.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** What browsers, axios and Postman send, plus the conditional header that makes caches answer 304. */
export const HOSTILE_HEADERS = {
  'accept-encoding': 'gzip, deflate, br',
  'if-none-match': '*',
} as const;

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * The producer waits for `received(k)` before producing event k + 1; the client calls `ack(k)`
 * when it has parsed event k. Anything that holds event k back deadlocks the pair, and the test
 * fails by its timeout: no clock is read.
 */
export class Lockstep {
  readonly #acks = new Map<number, Deferred<void>>();

  #get(k: number): Deferred<void> {
    let entry = this.#acks.get(k);
    if (!entry) this.#acks.set(k, (entry = deferred()));
    return entry;
  }

  received(k: number): Promise<void> {
    return this.#get(k).promise;
  }

  ack(k: number): void {
    this.#get(k).resolve();
  }
}

/** Polls a condition until it holds, at most `tries` times 10 ms apart; throws if it never does. */
export async function until(condition: () => boolean, what: string, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

/** Parses SSE from any chunk source as it arrives: events and comments in order, and the raw text. */
export class EventReader {
  readonly events: EventSourceMessage[] = [];
  readonly comments: string[] = [];
  raw = '';
  /** Resolves when the body ended (or failed). */
  readonly ended: Promise<void>;
  readonly #waiters: { count: number; done: Deferred<void> }[] = [];
  readonly #decoder = new TextDecoder();
  readonly #parser = createParser({
    onEvent: (event) => {
      this.events.push(event);
      this.onEvent?.(event, this.events.length - 1);
      this.#wake();
    },
    onComment: (comment) => this.comments.push(comment),
  });
  onEvent: ((event: EventSourceMessage, index: number) => void) | undefined;

  constructor(source?: AsyncIterable<Uint8Array | string>) {
    this.ended = source ? this.#consume(source) : Promise.resolve();
  }

  feed(chunk: Uint8Array | string): void {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.raw += text;
    this.#parser.feed(text);
  }

  /** Resolves once `count` events have arrived. */
  async waitFor(count: number): Promise<EventSourceMessage[]> {
    if (this.events.length < count) {
      const done = deferred();
      this.#waiters.push({ count, done });
      await done.promise;
    }
    return this.events;
  }

  #wake(): void {
    for (const waiter of this.#waiters) {
      if (this.events.length >= waiter.count) waiter.done.resolve();
    }
  }

  async #consume(source: AsyncIterable<Uint8Array | string>): Promise<void> {
    try {
      for await (const chunk of source) this.feed(chunk);
    } catch {
      // A destroyed body ends the reading; the test asserts on what arrived.
    }
  }
}

export interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/** A raw node:http request with the hostile headers; resolves when the response headers arrive. */
export function rawRequest(
  url: string,
  { method = 'GET', headers = {}, body }: RawOptions = {},
): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method,
      agent: false,
      headers: { ...HOSTILE_HEADERS, ...headers },
    });
    req.once('response', (res) => resolve({ req, res }));
    req.once('error', reject);
    req.end(body);
  });
}

/** Reads a whole body as text. */
export async function readAll(res: AsyncIterable<Uint8Array | string>): Promise<string> {
  const reader = new EventReader(res);
  await reader.ended;
  return reader.raw;
}

/** An HTTP/2 (h2c) request; resolves with the response headers and the stream. */
export function http2Request(
  url: string,
  path: string,
): Promise<{ headers: IncomingHttpHeaders; stream: ClientHttp2Stream; close: () => void }> {
  return new Promise((resolve, reject) => {
    const session = connect(url);
    session.once('error', reject);
    const stream = session.request({ ':path': path, ...HOSTILE_HEADERS });
    stream.once('error', reject);
    stream.once('response', (headers) =>
      resolve({ headers, stream, close: () => session.close() }),
    );
    stream.end();
  });
}
