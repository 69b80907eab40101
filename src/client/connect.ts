/**
 * The client: one request streamed as an async iterable of typed events, resumed with a `GET`
 * and `Last-Event-ID` when it is cut before its terminal frame.
 * @module
 */
import { Cursor } from './cursor.js';
import { SseClientError } from './errors.js';
import { type ClientFormat, CONTENT_TYPES, readMessages, type WireMessage } from './read.js';

/**
 * Event names and the types of their data, e.g. `{ token: string; usage: { tokens: number } }`.
 *
 * @example A chat endpoint's events
 * ```ts
 * import type { EventMap } from 'ssekit/client';
 *
 * interface ChatEvents extends EventMap {
 *   message: string;
 *   usage: { tokens: number };
 * }
 * ```
 */
export type EventMap = Record<string, unknown>;

/**
 * The events of a stream whose frames have no `event:` line: `message` events with text data.
 *
 * @example The default map
 * ```ts
 * import type { ClientEvent, DefaultEvents } from 'ssekit/client';
 *
 * declare const event: ClientEvent<DefaultEvents>;
 * if (event.event === 'message') console.log(event.data.toUpperCase());
 * ```
 */
export type DefaultEvents = {
  /** The data text of an unnamed event. */
  message: string;
};

/** Why the server could not continue from the client's cursor (the resume wire contract). */
export type ResetReason = 'generation_changed' | 'trimmed' | 'expired' | 'unknown_cursor';

/**
 * The `ssekit.reset` event: the server could not continue from the cursor and starts over (or
 * ends). Discard what you showed of the partial answer when it arrives.
 *
 * @example Starting the answer over
 * ```ts
 * import type { ClientEvent } from 'ssekit/client';
 *
 * let text = '';
 * function onEvent(event: ClientEvent<{ message: string }>): void {
 *   if (event.event === 'ssekit.reset') text = '';
 *   else text += event.data;
 * }
 * ```
 */
export interface ResetEvent {
  /** Always `'ssekit.reset'`. */
  readonly event: 'ssekit.reset';
  /** Why the cursor was refused. */
  readonly data: {
    /** The reset code: `generation_changed`, `trimmed`, `expired` or `unknown_cursor`. */
    readonly reason: ResetReason | (string & {});
  };
  /** The frame's id, if any. */
  readonly id: string | undefined;
}

/**
 * One event yielded by a {@link SseStream}: its name, its data typed by the {@link EventMap}, and
 * its id; or a {@link ResetEvent}.
 *
 * @example Narrowing by name
 * ```ts
 * import type { ClientEvent } from 'ssekit/client';
 *
 * declare const event: ClientEvent<{ token: string; usage: { tokens: number } }>;
 * if (event.event === 'usage') console.log(event.data.tokens);
 * ```
 */
export type ClientEvent<M extends EventMap = DefaultEvents> =
  | {
      [K in keyof M & string]: {
        /** The event name (`message` when the frame had no `event:` line). */
        readonly event: K;
        /** The data, parsed as the `parse` option says. */
        readonly data: M[K];
        /** The frame's id, if it had one. */
        readonly id: string | undefined;
      };
    }[keyof M & string]
  | ResetEvent;

/** What {@link ClientOptions.onReconnect} is told before each reconnect. */
export interface ReconnectInfo {
  /** 1 for the first reconnect after a cut; counts up while attempts fail. */
  readonly attempt: number;
  /** The milliseconds the client waits before the request. */
  readonly delay: number;
  /** Where it reconnects (always with `GET`). */
  readonly url: string;
  /** The `Last-Event-ID` it sends, if any. */
  readonly lastEventId: string | undefined;
  /** What cut the stream or failed the last attempt. */
  readonly error: unknown;
}

/** Options of the reconnects after a cut. */
export interface ResumeOptions {
  /**
   * The most reconnects in a row that fail to deliver an event (a network error, or a `502`,
   * `503` or `504` answer); the count starts again once an event arrives. After the last one the
   * stream throws `STREAM_CUT`; any other non-2xx answer throws `HTTP_ERROR` at once.
   * @defaultValue `5`
   */
  attempts?: number | undefined;
  /**
   * Milliseconds before the first reconnect, when the server sent no `retry:`; each failed
   * attempt doubles the wait, plus up to 25% random jitter. A `retry:` from the server replaces
   * it (never waited less than).
   * @defaultValue `1000`
   */
  delay?: number | undefined;
  /** The longest wait, in milliseconds, unless the server's `retry:` asks for longer. @defaultValue `30000` */
  maxDelay?: number | undefined;
  /**
   * Where to reconnect. @defaultValue the response's `SSEKit-Resume-URL`, else the URL of the
   * request
   */
  url?: string | URL | undefined;
}

/** Options of {@link connect}. Every option is optional. */
export interface ClientOptions<M extends EventMap = DefaultEvents> {
  /** The request method. @defaultValue `'POST'` when there is a `body` or `json`, else `'GET'` */
  method?: string | undefined;
  /** A JSON value sent as the body, with `Content-Type: application/json`. */
  json?: unknown;
  /** A body sent as it is (a string, `FormData`, …); give `json` instead for JSON. */
  body?: BodyInit | undefined;
  /** Request headers (e.g. `Authorization`); also sent on reconnects. */
  headers?: HeadersInit | undefined;
  /** The fetch `credentials` mode. @defaultValue the runtime's (`'same-origin'`) */
  credentials?: RequestCredentials | undefined;
  /** Aborts the stream: the request is cancelled and the iteration throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /** The `fetch` to use. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined;
  /**
   * What the endpoint sends: `'sse'` (`text/event-stream`) or `'ndjson'`
   * (`application/x-ndjson`, one JSON value per line, yielded as `message` events).
   * @defaultValue `'sse'`
   */
  format?: ClientFormat | undefined;
  /**
   * How SSE data text becomes `data`: `'text'` leaves it a string, `'json'` parses it, a function
   * decides per event. NDJSON lines are always parsed as JSON.
   * @defaultValue `'text'`
   */
  parse?: 'text' | 'json' | ((data: string, event: string) => unknown) | undefined;
  /**
   * Whether a message is the terminal frame, which ends the iteration (it is not yielded).
   * `false`: no terminal frame, every end of the body is a cut.
   * @defaultValue `data: [DONE]` or `event: done` (ssekit's `done` option, as OpenAI and the AI
   * SDK send it); for NDJSON, the line `"[DONE]"`
   */
  done?: ((message: WireMessage) => boolean) | false | undefined;
  /**
   * The event name of the server's error frame: it ends the stream with an `SERVER_ERROR`
   * carrying its data, and is never yielded. `false` yields it as data.
   * @defaultValue `'error'`
   */
  errorEvent?: string | false | undefined;
  /** Reconnect after a cut (see {@link ResumeOptions}), or `false` to throw `STREAM_CUT` at once. @defaultValue `{}` */
  resume?: ResumeOptions | false | undefined;
  /**
   * A `Last-Event-ID` to start from, sent on the first request too (e.g. saved before a page
   * reload, with a `GET` to the resume route). @defaultValue none
   */
  lastEventId?: string | undefined;
  /**
   * The most text held for an event (or NDJSON line) that has not ended yet, in UTF-16 code
   * units; more throws `EVENT_TOO_LARGE` and cancels the request. @defaultValue `1048576`
   */
  maxEventSize?: number | undefined;
  /** Called with each response that will be read: the first and every reconnect. */
  onOpen?: ((response: Response) => void) | undefined;
  /** Called before each reconnect. */
  onReconnect?: ((info: ReconnectInfo) => void) | undefined;
  /** Called when the server resets the cursor, before the `ssekit.reset` event is yielded. */
  onReset?: ((reason: string) => void) | undefined;
  /** Unused at runtime: lets `connect<M>()` infer the map from the options. */
  readonly events?: M | undefined;
}

/** How a stream ended, once it has. */
export type StreamOutcome = 'done' | 'no-content' | 'closed';

/**
 * A streamed request: iterate it once with `for await`. The request starts when the iteration
 * does; breaking out, `close()` and the `signal` all cancel it.
 */
export interface SseStream<M extends EventMap = DefaultEvents> extends AsyncIterable<
  ClientEvent<M>
> {
  /** The response being read (the latest, after a reconnect); its headers are readable. */
  readonly response: Response | undefined;
  /** The `Last-Event-ID` a reconnect would send. */
  readonly lastEventId: string | undefined;
  /** The reason of the last `ssekit.reset`, if the server sent one. */
  readonly resetReason: string | undefined;
  /** Reconnects made so far. */
  readonly reconnects: number;
  /** How the stream ended: its terminal frame, a `204`, or `close()`/`break`; `undefined` before. */
  readonly outcome: StreamOutcome | undefined;
  /** Stops the stream: the request is cancelled and the iteration ends without an error. */
  close(): void;
}

const CLOSED = Symbol('closed');
/** Statuses a reconnect retries (the `GET` is safe to repeat): gateways and a server restarting. */
const RETRYABLE = new Set([502, 503, 504]);
const parseJson = (data: string): unknown => JSON.parse(data) as unknown;
const defaultDone = (message: WireMessage): boolean =>
  message.data === '[DONE]' || message.event === 'done';
// ssekit's NDJSON format sends `done: { data: '[DONE]' }` as the JSON string `"[DONE]"`.
const ndjsonDone = (message: WireMessage): boolean => message.data === '"[DONE]"';

function invalid(field: string, expected: string, received: unknown): SseClientError {
  return new SseClientError(
    'INVALID_OPTION',
    `\`${field}\` must be ${expected}, received ${typeof received === 'string' ? JSON.stringify(received) : String(received)}`,
    { field },
  );
}

function count(field: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && (value as number) >= min)) {
    throw invalid(field, `an integer >= ${min}`, value);
  }
  return value as number;
}

interface Resolved {
  readonly url: string;
  readonly init: RequestInit;
  readonly headers: Headers;
  readonly fetch: typeof fetch;
  readonly format: ClientFormat;
  readonly parse: (data: string, event: string) => unknown;
  readonly done: ((message: WireMessage) => boolean) | undefined;
  readonly errorEvent: string | undefined;
  readonly resume:
    { attempts: number; delay: number; maxDelay: number; url: string | undefined } | undefined;
  readonly maxEventSize: number;
}

function resolve(url: string | URL, options: ClientOptions<EventMap>): Resolved {
  if (typeof options !== 'object' || options === null)
    throw invalid('options', 'an object', options);
  const { json, body, format = 'sse', parse = 'text', done, errorEvent = 'error' } = options;
  const fetchImpl = options.fetch ?? globalThis.fetch;
  if (typeof fetchImpl !== 'function') throw invalid('fetch', 'a function', fetchImpl);
  if (format !== 'sse' && format !== 'ndjson') throw invalid('format', "'sse' or 'ndjson'", format);
  if (json !== undefined && body !== undefined) {
    throw invalid('body', 'absent when `json` is given', 'both');
  }
  const headers = new Headers(options.headers);
  if (!headers.has('accept')) {
    headers.set('accept', format === 'sse' ? 'text/event-stream' : 'application/x-ndjson');
  }
  if (json !== undefined && !headers.has('content-type'))
    headers.set('content-type', 'application/json');
  const { lastEventId } = options;
  if (lastEventId !== undefined && typeof lastEventId !== 'string') {
    throw invalid('lastEventId', 'a string', lastEventId);
  }
  // Sent on the first request too: the stream resumes from where an earlier page left it.
  const first = new Headers(headers);
  if (lastEventId !== undefined) first.set('last-event-id', lastEventId);
  const method = options.method ?? (json !== undefined || body !== undefined ? 'POST' : 'GET');
  if (typeof method !== 'string') throw invalid('method', 'a string', method);
  const init: RequestInit = {
    method,
    headers: first,
    ...(json !== undefined ? { body: JSON.stringify(json) } : body !== undefined ? { body } : {}),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  let parseData: (data: string, event: string) => unknown;
  if (parse === 'text') parseData = (data) => data;
  else if (parse === 'json') parseData = parseJson;
  else if (typeof parse === 'function') parseData = parse;
  else throw invalid('parse', "'text', 'json' or a function", parse);
  if (done !== undefined && done !== false && typeof done !== 'function') {
    throw invalid('done', 'a function or false', done);
  }
  if (errorEvent !== false && typeof errorEvent !== 'string') {
    throw invalid('errorEvent', 'a string or false', errorEvent);
  }
  const { resume = {} } = options;
  if (resume !== false && (typeof resume !== 'object' || resume === null)) {
    throw invalid('resume', 'an object or false', resume);
  }
  for (const name of ['onOpen', 'onReconnect', 'onReset'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw invalid(name, 'a function', options[name]);
    }
  }
  return {
    url: String(url),
    init,
    headers,
    // Called unbound: a browser's fetch throws "Illegal invocation" with any `this` but window.
    fetch: (input, init) => fetchImpl(input, init),
    format,
    parse: parseData,
    done: done === false ? undefined : (done ?? (format === 'ndjson' ? ndjsonDone : defaultDone)),
    errorEvent: errorEvent === false ? undefined : errorEvent,
    resume:
      resume === false
        ? undefined
        : {
            attempts: count('resume.attempts', resume.attempts, 5, 0),
            delay: count('resume.delay', resume.delay, 1000, 0),
            maxDelay: count('resume.maxDelay', resume.maxDelay, 30_000, 0),
            url: resume.url === undefined ? undefined : String(resume.url),
          },
    maxEventSize: count('maxEventSize', options.maxEventSize, 1024 * 1024, 1),
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done, fail) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      // The signal's own reason (the user's, or the private close marker), as fetch rejects.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      fail(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      done();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function decode(parse: (data: string, event: string) => unknown, message: WireMessage): unknown {
  try {
    return parse(message.data, message.event);
  } catch (error) {
    throw new SseClientError(
      'INVALID_DATA',
      `the data of a \`${message.event}\` event could not be parsed`,
      { cause: error },
    );
  }
}

function jsonOrText(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data; // not JSON: the text itself is what the server said
  }
}

/**
 * Streams a request (any method, a body, headers) as Server-Sent Events (or NDJSON) and yields
 * its events, typed by name. When the stream is cut before its terminal frame and the server
 * showed it can resume (an `SSEKit-Resume` header, or events with ids), it reconnects with `GET`
 * to `SSEKit-Resume-URL` (or the same URL) with `Last-Event-ID`, never re-sending the body;
 * waits as the server's `retry:` asks, with exponential backoff and jitter, a bounded number of
 * times; skips events it has already yielded; yields `ssekit.reset` when the server could not
 * continue; and ends on `204`. Tab visibility changes nothing: a hidden tab keeps streaming.
 * Options are checked here, before any request.
 *
 * @throws {@link SseClientError} `INVALID_OPTION` naming the option; while iterating,
 *   `HTTP_ERROR`, `BAD_CONTENT_TYPE`, `SERVER_ERROR`, `STREAM_CUT`, `EVENT_TOO_LARGE`, the
 *   network's error on the first request, or the `signal`'s reason.
 *
 * @example Streaming a chat answer in the browser
 * ```ts
 * import { connect } from 'ssekit/client';
 *
 * const output = document.querySelector('#answer')!;
 * const stream = connect('/api/chat', { json: { prompt: 'What is SSE?' } });
 * for await (const event of stream) {
 *   if (event.event === 'ssekit.reset') output.textContent = '';
 *   else output.textContent += event.data;
 * }
 * ```
 *
 * @example Typed named events
 * ```ts
 * import { connect } from 'ssekit/client';
 *
 * type AgentEvents = { thought: { text: string }; token: string; final: { output: string } };
 * const stream = connect<AgentEvents>('/api/agent', {
 *   json: { prompt: 'Hi' },
 *   parse: (data, event) => (event === 'token' ? data : JSON.parse(data)),
 * });
 * for await (const event of stream) if (event.event === 'final') console.log(event.data.output);
 * ```
 */
export function connect<M extends EventMap = DefaultEvents>(
  url: string | URL,
  options: ClientOptions<M> = {},
): SseStream<M> {
  const config = resolve(url, options);
  const closer = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, closer.signal]) : closer.signal;
  const cursor = new Cursor(options.lastEventId);
  let started = false;
  const state = {
    response: undefined as Response | undefined,
    resetReason: undefined as string | undefined,
    reconnects: 0,
    outcome: undefined as StreamOutcome | undefined,
  };

  async function* run(): AsyncGenerator<ClientEvent<M>, void, undefined> {
    const { resume, format, done, errorEvent } = config;
    let request: { url: string; init: RequestInit } = { url: config.url, init: config.init };
    let failures = 0;
    let retryHint: number | undefined;
    let resumeUrl = resume?.url;
    let resumable = false;
    for (let first = true; ; first = false) {
      let cut: unknown;
      let response: Response | undefined;
      try {
        response = await config.fetch(request.url, { ...request.init, signal });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        if (first) throw error; // never re-send the request: the server may have run it
        cut = error; // a reconnect that failed: try again, if attempts remain
      }
      if (response) {
        if (response.status === 204) {
          state.outcome = 'no-content';
          await response.body?.cancel();
          return;
        }
        if (!first && RETRYABLE.has(response.status)) {
          // A reconnect that met a proxy or a server restarting (a deploy): an attempt that failed.
          cut = await httpError(response);
          response = undefined;
        }
      }
      if (response) {
        await check(response, format);
        state.response = response;
        options.onOpen?.(response);
        const headers = response.headers;
        const resumeHeader = headers.get('ssekit-resume');
        const named = headers.get('ssekit-resume-url');
        if (resumeHeader !== null || named !== null) resumable = true;
        if (named !== null && resume?.url === undefined)
          resumeUrl = new URL(named, response.url || request.url).href;
        const serverCursor = headers.get('ssekit-cursor');
        let skip = 0;
        if (resumeHeader === 'reset') {
          cursor.reset();
          if (format === 'ndjson') yield reset('unknown_cursor', undefined);
        }
        if (serverCursor !== null) {
          if (cursor.counted) skip = cursor.overlap(serverCursor);
          else cursor.moveTo(serverCursor);
        }
        try {
          for await (const message of readMessages(
            response.body as ReadableStream<Uint8Array>,
            format,
            config.maxEventSize,
            (ms) => (retryHint = ms),
          )) {
            // Events of a chunk already read are not yielded after an abort or close().
            if (signal.aborted) throw signal.reason;
            failures = 0;
            if (message.id !== undefined) resumable = true;
            if (done?.(message)) {
              state.outcome = 'done';
              return;
            }
            if (message.event === errorEvent) {
              throw new SseClientError(
                'SERVER_ERROR',
                'the server ended the stream with an error',
                {
                  data: jsonOrText(message.data),
                },
              );
            }
            if (message.event === 'ssekit.reset') {
              cursor.reset();
              cursor.accept(message.id);
              const { reason } = (jsonOrText(message.data) ?? {}) as { reason?: unknown };
              yield reset(typeof reason === 'string' ? reason : 'unknown_cursor', message.id);
              continue;
            }
            if (format === 'ndjson') {
              if (skip > 0) {
                skip -= 1;
                continue;
              }
              cursor.count();
              yield event(message.event, decode(parseJson, message), undefined);
              continue;
            }
            if (!cursor.accept(message.id)) continue; // a replayed duplicate
            yield event(message.event, decode(config.parse, message), message.id);
          }
          cut = new SseClientError('STREAM_CUT', 'the stream ended before its terminal frame');
        } catch (error) {
          if (signal.aborted) throw signal.reason;
          if (error instanceof SseClientError) throw error;
          cut = error; // the connection failed mid-body
        }
      }
      if (!resume || !resumable) {
        throw new SseClientError(
          'STREAM_CUT',
          'the stream was cut before its terminal frame and cannot be resumed',
          { cause: cut },
        );
      }
      failures += 1;
      if (failures > resume.attempts) {
        throw new SseClientError(
          'STREAM_CUT',
          `the stream was cut and ${resume.attempts} reconnects failed`,
          { cause: cut },
        );
      }
      const base = Math.max(retryHint ?? resume.delay, 0);
      const backoff = Math.min(resume.maxDelay, base * 2 ** (failures - 1));
      const wait = Math.max(base, backoff);
      const delay = Math.round(wait + Math.random() * wait * 0.25);
      const headers = new Headers(config.headers);
      headers.delete('content-type');
      headers.delete('content-length');
      if (cursor.last !== undefined) headers.set('last-event-id', cursor.last);
      const target = resumeUrl ?? config.url;
      options.onReconnect?.({
        attempt: failures,
        delay,
        url: target,
        lastEventId: cursor.last,
        error: cut,
      });
      await sleep(delay, signal);
      state.reconnects += 1;
      // Never the body again: the reconnect is a GET that only asks for what follows the cursor.
      const { credentials } = config.init;
      request = {
        url: target,
        init: { method: 'GET', headers, ...(credentials === undefined ? {} : { credentials }) },
      };
    }
  }

  function reset(reason: string, id: string | undefined): ResetEvent {
    state.resetReason = reason;
    options.onReset?.(reason);
    return { event: 'ssekit.reset', data: { reason }, id };
  }

  function event(name: string, data: unknown, id: string | undefined): ClientEvent<M> {
    return { event: name, data, id } as ClientEvent<M>;
  }

  async function* guarded(): AsyncGenerator<ClientEvent<M>, void, undefined> {
    try {
      yield* run();
    } catch (error) {
      // close() aborts with a private reason: the iteration ends quietly.
      if (closer.signal.aborted && closer.signal.reason === CLOSED) {
        state.outcome ??= 'closed';
        return;
      }
      throw error;
    } finally {
      // Cancels the request if the consumer stopped early (`break`), so the server's producer stops.
      state.outcome ??= 'closed';
      if (!closer.signal.aborted) closer.abort(CLOSED);
    }
  }

  return {
    get response() {
      return state.response;
    },
    get lastEventId() {
      return cursor.last;
    },
    get resetReason() {
      return state.resetReason;
    },
    get reconnects() {
      return state.reconnects;
    },
    get outcome() {
      return state.outcome;
    },
    close() {
      if (!closer.signal.aborted) closer.abort(CLOSED);
    },
    [Symbol.asyncIterator]() {
      if (started) throw new TypeError('an SseStream can be iterated only once');
      started = true;
      return guarded();
    },
  };
}

async function httpError(response: Response): Promise<SseClientError> {
  let body: string | undefined;
  let cause: unknown;
  try {
    body = await response.text();
  } catch (error) {
    cause = error; // the status is the error; the body could not be read, and says why
  }
  return new SseClientError(
    'HTTP_ERROR',
    `the server answered ${response.status} ${response.statusText}`.trimEnd(),
    { response, body, ...(cause === undefined ? {} : { cause }) },
  );
}

async function check(response: Response, format: ClientFormat): Promise<void> {
  if (!response.ok) throw await httpError(response);
  const type = response.headers.get('content-type') ?? '';
  if (!CONTENT_TYPES[format].test(type) || response.body === null) {
    await response.body?.cancel();
    throw new SseClientError(
      'BAD_CONTENT_TYPE',
      `the server answered with content-type ${JSON.stringify(type)}, not ${format === 'sse' ? 'text/event-stream' : 'application/x-ndjson'}`,
      { response },
    );
  }
}
