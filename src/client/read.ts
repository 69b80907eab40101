/**
 * Reading one response body into messages: SSE through `eventsource-parser`, NDJSON by lines.
 * @module
 */
import { createParser } from 'eventsource-parser';
import { SseClientError } from './errors.js';

/** One message as read from the wire, before the client interprets it. */
export interface WireMessage {
  /** The event name (`message` when the frame named none; always `message` for NDJSON). */
  readonly event: string;
  /** The data text (for NDJSON: the line). */
  readonly data: string;
  /** The frame's `id:`, if it had one. */
  readonly id: string | undefined;
}

/** The formats the client reads. */
export type ClientFormat = 'sse' | 'ndjson';

/** The `Content-Type` each format expects. */
export const CONTENT_TYPES: Record<ClientFormat, RegExp> = {
  sse: /^text\/event-stream\s*(;|$)/i,
  ndjson: /^application\/(x-)?ndjson\s*(;|$)/i,
};

function tooLarge(limit: number): SseClientError {
  return new SseClientError(
    'EVENT_TOO_LARGE',
    `an event exceeded \`maxEventSize\` (${limit} UTF-16 code units)`,
    { field: 'maxEventSize' },
  );
}

/**
 * Yields the messages of a body as the chunks arrive, one chunk read per batch, so a consumer
 * that stops pulling stops the reading (backpressure reaches the server). `onRetry` receives the
 * server's `retry:` hints. Breaking out cancels the body.
 */
export async function* readMessages(
  body: ReadableStream<Uint8Array>,
  format: ClientFormat,
  maxEventSize: number,
  onRetry: (ms: number) => void,
): AsyncGenerator<WireMessage, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const batch: WireMessage[] = [];
  let failure: SseClientError | undefined;
  const parser =
    format === 'sse'
      ? createParser({
          maxBufferSize: maxEventSize,
          onEvent: (message) =>
            batch.push({ event: message.event ?? 'message', data: message.data, id: message.id }),
          onRetry,
          onError(error) {
            // `invalid-retry` and `unknown-field`: the HTML standard says to ignore the field.
            if (error.type === 'max-buffer-size-exceeded') failure ??= tooLarge(maxEventSize);
          },
        })
      : undefined;
  let rest = '';
  try {
    for (;;) {
      const { done, value: bytes } = await reader.read();
      if (done) break;
      const value = decoder.decode(bytes, { stream: true });
      if (parser) parser.feed(value);
      else {
        const lines = (rest + value).split('\n');
        rest = lines.pop() as string;
        for (const line of lines) if (line.trim() !== '') batch.push(ndjsonMessage(line));
        if (rest.length > maxEventSize) failure ??= tooLarge(maxEventSize);
      }
      if (failure) throw failure;
      // Hand over the batch before reading on; a copy, since the consumer may run the parser again.
      yield* batch.splice(0);
    }
    // A trailing event without its blank line is discarded (HTML standard); so is a partial
    // NDJSON line: both mean the stream was cut.
  } finally {
    // Reached on a cut, an error and a consumer that stops early: release the connection.
    await reader.cancel().catch((error: unknown) => {
      // Cancelling a body whose connection already failed rejects with that failure, which the
      // read above has already reported; nothing else can reach here.
      void error;
    });
  }
}

function ndjsonMessage(line: string): WireMessage {
  return { event: 'message', data: line.endsWith('\r') ? line.slice(0, -1) : line, id: undefined };
}
