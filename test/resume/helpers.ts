/**
 * Helpers for the resumable-stream tests: a real node:http server with start, resume, stop and
 * result routes on `ssekit/node`, and a fetch reader that parses with eventsource-parser and can
 * disconnect after any number of events.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Producer, SseOptions } from 'ssekit';
import { sendSse } from 'ssekit/node';
import { cursorFrom, type Resumable, type ResumeReply } from 'ssekit/resume';

/** The stream options the test routes use unless told otherwise. */
export const doneOptions = { done: { event: 'done', data: '' }, heartbeat: false } as const;

/** A test server and its base URL. */
export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

/** Writes a reply: its status and headers, then its events through ssekit's Node transport. */
export async function sendReply(
  res: ServerResponse,
  reply: ResumeReply,
  options: SseOptions = doneOptions,
): Promise<void> {
  for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
  if (reply.source === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  await sendSse(res, reply.source, options);
}

/**
 * Serves `resumable` on 127.0.0.1: `POST /s/:id` starts (the body is handed to `produce`),
 * `GET /s/:id/stream` resumes, `POST /s/:id/stop` stops, `GET /s/:id/result` answers the result.
 */
export async function serveResumable(
  resumable: Resumable,
  produce: (id: string, body: string) => Producer,
  options: SseOptions = doneOptions,
): Promise<TestServer> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void route(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });
  });
  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/s\/([^/]+)(\/stream|\/stop|\/result)?$/.exec(url.pathname);
    if (match === null) return void res.writeHead(404).end();
    const id = decodeURIComponent(match[1] as string);
    if (req.method === 'POST' && match[2] === undefined) {
      let body = '';
      for await (const chunk of req) body += String(chunk);
      const reply = await resumable.start(id, produce(id, body), { request: req });
      return sendReply(res, reply, options);
    }
    if (req.method === 'GET' && match[2] === '/stream') {
      const reply = await resumable.resume(id, {
        cursor: cursorFrom(req.headers, req.url ?? '/'),
        request: req,
      });
      return sendReply(res, reply, options);
    }
    if (req.method === 'POST' && match[2] === '/stop') {
      const stopped = await resumable.stop(id);
      return void res
        .writeHead(202, { 'content-type': 'application/json' })
        .end(JSON.stringify({ stopped }));
    }
    if (req.method === 'GET' && match[2] === '/result') {
      const result = await resumable.result(id);
      if (result === undefined) return void res.writeHead(204).end();
      return void res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(result));
    }
    res.writeHead(405).end();
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** What a read saw. */
export interface ReadResult {
  readonly status: number;
  readonly headers: Headers;
  readonly events: EventSourceMessage[];
  /** Whether the body ended by itself (not cut by `count`). */
  readonly ended: boolean;
}

/**
 * Fetches `url` and parses its SSE body; with `count`, disconnects right after that many data
 * events (ids seen), as a dropped connection would.
 */
export async function readEvents(
  url: string,
  init: RequestInit & { count?: number; lastEventId?: string | undefined } = {},
): Promise<ReadResult> {
  const { count = Infinity, lastEventId, ...rest } = init;
  const controller = new AbortController();
  const headers = new Headers(rest.headers);
  if (lastEventId !== undefined) headers.set('last-event-id', lastEventId);
  const response = await fetch(url, { ...rest, headers, signal: controller.signal });
  const events: EventSourceMessage[] = [];
  let data = 0;
  const parser = createParser({
    onEvent: (event) => {
      events.push(event);
      if (event.id !== undefined && event.event !== 'ssekit.reset') data++;
    },
  });
  if (response.body === null)
    return { status: response.status, headers: response.headers, events, ended: true };
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { status: response.status, headers: response.headers, events, ended: true };
    parser.feed(value);
    if (data >= count) {
      controller.abort();
      // Keep only the events up to the cut, as a client that dropped there would have seen.
      let seen = 0;
      const kept = events.filter((event) => {
        if (seen >= count) return false;
        if (event.id !== undefined && event.event !== 'ssekit.reset') seen++;
        return true;
      });
      await reader.cancel().catch(() => undefined);
      return { status: response.status, headers: response.headers, events: kept, ended: false };
    }
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it is true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('waitFor timed out');
    await sleep(10);
  }
}

/** A producer of `tokens`, one event each, `delay` ms apart, recording its abort. */
export function tokens(
  list: readonly string[],
  delay = 0,
): { producer: Producer; aborted: () => boolean; finished: () => boolean } {
  let aborted = false;
  let finished = false;
  return {
    producer: async (writer) => {
      writer.signal.addEventListener('abort', () => (aborted = true));
      for (const token of list) {
        if (delay > 0) await sleep(delay);
        if (writer.signal.aborted) return;
        await writer.send(token);
      }
      finished = true;
    },
    aborted: () => aborted,
    finished: () => finished,
  };
}
