/**
 * Shared by the integration tests: loopback servers closed after each test, and an SSE client
 * built on eventsource-parser's own stream (not on ssekit's readers, so tests are not circular).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EventSourceMessage, EventSourceParserStream } from 'eventsource-parser/stream';
import { afterEach } from 'vitest';

const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** Closes `close` after the current test. */
export function closeAfterEach(close: () => Promise<void>): void {
  closers.push(close);
}

/** Closes a server and its open connections. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.closeAllConnections();
    server.close((error) => (error ? reject(error) : resolve()));
  });
}

/** Serves `listener` on a free loopback port until the test ends; resolves to its base URL. */
export async function serve(listener: RequestListener | Server): Promise<string> {
  const server = typeof listener === 'function' ? createServer(listener) : listener;
  if (!server.listening) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  }
  closeAfterEach(() => closeServer(server));
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** The events of an SSE response, as eventsource-parser reads them, one at a time. */
export function events(response: Response): ReadableStreamDefaultReader<EventSourceMessage> {
  if (response.body === null) throw new Error('no body');
  return response.body
    .pipeThrough(new TextDecoderStream())
    .pipeThrough(new EventSourceParserStream())
    .getReader();
}

/** Every event of an SSE response, read to its end. */
export async function allEvents(response: Response): Promise<EventSourceMessage[]> {
  const reader = events(response);
  const found: EventSourceMessage[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return found;
    found.push({ data: value.data, event: value.event, id: value.id });
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(signal.reason);
    else signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}
