/**
 * Reading Server-Sent Events from a fetch `Response`, with `eventsource-parser`: to relay a
 * provider's stream through an endpoint (as it is, or transformed), and as a small client that
 * decodes data-only JSON chunks up to `[DONE]`.
 * @module
 */
import { createParser } from 'eventsource-parser';
import { SseError } from '../errors.js';
import { type SseEvent, sseEvent } from '../options.js';

/**
 * One event read from an upstream stream: its `data` text and, when the upstream set them, its
 * `event` name and `id`. It is an {@link SseEvent}, so an endpoint that streams it re-emits it
 * with the same name and id.
 *
 * @example Renaming upstream events
 * ```ts
 * import { readSse, sseEvent, type SseMessage } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * export const relay = sse(
 *   async (writer) => readSse(await fetch('http://127.0.0.1:8080/events', { signal: writer.signal })),
 *   { map: (message: SseMessage) => sseEvent(message.data, { event: `upstream.${message.event ?? 'message'}` }) },
 * );
 * ```
 */
export interface SseMessage extends SseEvent {
  /** The event's data: its `data:` lines joined with `\n`. */
  data: string;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/** An async iterator whose `return()` is always there (it releases the body). */
interface Releasing<T> extends AsyncIterableIterator<T> {
  return(): Promise<IteratorReturnResult<undefined>>;
}

function check(response: Response): ReadableStream<Uint8Array> {
  const type = response.headers.get('content-type') ?? '';
  let problem: string | undefined;
  if (!response.ok) problem = `answered ${response.status} ${response.statusText}`.trimEnd();
  else if (!/^text\/event-stream\s*(;|$)/i.test(type)) {
    problem = `answered with content-type ${JSON.stringify(type)}, not text/event-stream`;
  } else if (response.body === null) problem = 'answered with no body';
  if (problem === undefined) return response.body as ReadableStream<Uint8Array>;
  // Release the connection: nobody will read this body.
  response.body?.cancel().catch(() => {});
  throw new SseError('UPSTREAM_ERROR', `the upstream ${problem}`, { field: 'response' });
}

function messages(body: ReadableStream<Uint8Array>): Releasing<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const pending: SseMessage[] = [];
  let ended = false;
  const parser = createParser({
    onEvent(message) {
      pending.push(sseEvent(message.data, { event: message.event, id: message.id }) as SseMessage);
    },
  });
  const iterator: Releasing<SseMessage> = {
    async next() {
      for (;;) {
        const message = pending.shift();
        if (message !== undefined) return { done: false, value: message };
        if (ended) return DONE;
        const chunk = await reader.read();
        if (ended) return DONE;
        if (chunk.done) {
          ended = true;
          // An event without its closing blank line is discarded, as the spec says.
          parser.feed(decoder.decode());
        } else parser.feed(decoder.decode(chunk.value, { stream: true }));
      }
    },
    // Not an async generator: its return() would wait for the pending read, and a relay must
    // stop reading (and release the upstream connection) as soon as its client is gone.
    async return() {
      if (!ended) {
        ended = true;
        pending.length = 0;
        await reader.cancel().catch(() => {});
      }
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * Reads the events of an upstream `text/event-stream` response (e.g. `fetch` to a provider),
 * parsed by `eventsource-parser` as a browser would. Returned from a handler, it relays the
 * upstream events as they are (data, `event` and `id`); with the endpoint's `map`, it relays them
 * transformed. Leaving the loop early (or the endpoint's client going away) cancels the body.
 *
 * The response is checked at once, before anything is streamed, so a handler that returns this
 * fails with a proper error status rather than an error event when the upstream refused.
 * Pass the endpoint's signal to `fetch` too: then a client that goes away aborts the upstream
 * request at once, even while it is still waiting for the upstream's headers.
 *
 * @throws {@link SseError} `UPSTREAM_ERROR` at once when the response is not a 2xx
 *   `text/event-stream` response with a body. Reading rejects with the fetch's own error when the
 *   upstream connection fails.
 *
 * @example Relaying a provider's stream as it is
 * ```ts
 * import { readSse } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * export const relay = sse(async (writer) => {
 *   const upstream = await fetch('http://127.0.0.1:8080/v1/stream', { signal: writer.signal });
 *   return readSse(upstream);
 * });
 * ```
 */
export function readSse(response: Response): AsyncIterableIterator<SseMessage> {
  return messages(check(response));
}

/**
 * Options of {@link readSseData}.
 *
 * @example Plain text tokens, read to the end
 * ```ts
 * import { readSseData, type ReadSseDataOptions } from 'ssekit';
 *
 * const options: ReadSseDataOptions = { json: false, done: false };
 * declare const response: Response;
 * for await (const token of readSseData<string>(response, options)) console.log(token);
 * ```
 */
export interface ReadSseDataOptions {
  /**
   * The data that ends the stream (OpenAI's terminator); the body is cancelled when it arrives
   * and it is not yielded. `false`: read to the end of the body.
   * @defaultValue `'[DONE]'`
   */
  done?: string | false | undefined;
  /**
   * Whether each event's data is parsed as JSON. `false` yields the data strings.
   * @defaultValue `true`
   */
  json?: boolean | undefined;
}

function parseOrKeep(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text; // an error frame whose data is plain text is kept as it came
  }
}

/**
 * Decodes an SSE response into its events' data only, parsed as JSON, and stops at
 * `data: [DONE]`: the Tesla `SSE, only: :data` consumer of an OpenAI stream, for servers (as a
 * relay source with `map`) and for clients (Node, browsers, workers).
 *
 * The type parameter is the shape the data is trusted to have; it is not checked.
 *
 * @throws {@link SseError} `UPSTREAM_ERROR` at once for a response that is not a 2xx
 *   `text/event-stream` one, and while reading for data that is not JSON or a stream that ends
 *   without its `done` frame (pass `done: false` for providers that send none); `UPSTREAM_ERROR`
 *   with `field: 'event'` and the frame's `data` (parsed as JSON when it is) for an `event: error`
 *   frame, such as the one an ssekit endpoint ends a failed stream with, which is never yielded;
 *   `INVALID_OPTION` for a bad option.
 *
 * @example A client printing an OpenAI-style stream
 * ```ts
 * import { openAIText, readSseData, type OpenAIChatChunk } from 'ssekit';
 *
 * const response = await fetch('http://127.0.0.1:3000/v1/chat/completions', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true }),
 * });
 * for await (const chunk of readSseData<OpenAIChatChunk>(response)) {
 *   process.stdout.write(openAIText(chunk) ?? '');
 * }
 * ```
 *
 * @example A relay that turns upstream chunks into tokens
 * ```ts
 * import { openAIText, readSseData, type OpenAIChatChunk } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * export const tokens = sse(
 *   async (writer) =>
 *     readSseData<OpenAIChatChunk>(
 *       await fetch('http://127.0.0.1:8080/v1/stream', { signal: writer.signal }),
 *     ),
 *   { map: openAIText },
 * );
 * ```
 */
export function readSseData<T = unknown>(
  response: Response,
  options: ReadSseDataOptions = {},
): AsyncIterableIterator<T> {
  const { done = '[DONE]', json = true } = options;
  if (done !== false && typeof done !== 'string') {
    throw new SseError(
      'INVALID_OPTION',
      `\`done\` must be a string or false, received ${typeof done}`,
      {
        field: 'done',
      },
    );
  }
  if (typeof json !== 'boolean') {
    throw new SseError('INVALID_OPTION', `\`json\` must be a boolean, received ${typeof json}`, {
      field: 'json',
    });
  }
  const source = messages(check(response));
  const iterator: AsyncIterableIterator<T> = {
    async next() {
      const step = await source.next();
      if (step.done === true) {
        if (done === false) return DONE;
        // Without its terminal frame, a stream that ends was cut short: say so, rather than hand
        // the caller a truncated answer that looks complete.
        throw new SseError(
          'UPSTREAM_ERROR',
          `the upstream ended without ${JSON.stringify(done)}: the answer may be truncated`,
          { field: 'done' },
        );
      }
      const { data, event } = step.value;
      if (event === 'error') {
        // ssekit's (and many servers') error frame ends the stream: it is no data chunk.
        await source.return();
        throw new SseError('UPSTREAM_ERROR', 'the upstream ended its stream with an error event', {
          field: 'event',
          data: json ? parseOrKeep(data) : data,
        });
      }
      if (data === done) return source.return().then(() => DONE);
      if (!json) return { done: false, value: data as T };
      try {
        return { done: false, value: JSON.parse(data) as T };
      } catch (cause) {
        await source.return();
        throw new SseError(
          'UPSTREAM_ERROR',
          `the upstream sent data that is not JSON: ${JSON.stringify(data.slice(0, 80))}`,
          { field: 'data', cause },
        );
      }
    },
    async return() {
      await source.return();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
