/**
 * `ssekit/client` in Node against real ssekit servers on Express, Koa and Hono (hand-written
 * resumable routes, see chat-server.ts): POST streams, lockstep delivery, abort, resume after a
 * server-side socket destroy and after a proxy drops the connection, `retry:`, `204`, reset,
 * deduplication, and every error the client raises.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type ClientEvent,
  connect,
  isSseError,
  type ReconnectInfo,
  SseClientError,
} from 'ssekit/client';
import {
  ChatLog,
  frameworks,
  type Proxy,
  startChatServer,
  startProxy,
  type TestServer,
  tokensFor,
} from './chat-server.js';

let server: TestServer | undefined;
let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await server?.close();
  server = proxy = undefined;
});

const fast = { delay: 5, maxDelay: 50 };

async function collect<M extends Record<string, unknown>>(
  stream: AsyncIterable<ClientEvent<M>>,
  each?: (event: ClientEvent<M>, index: number) => void,
): Promise<ClientEvent<M>[]> {
  const events: ClientEvent<M>[] = [];
  for await (const event of stream) {
    events.push(event);
    each?.(event, events.length);
  }
  return events;
}

const data = (events: ClientEvent[]): unknown[] => events.map((e) => e.data);

describe.each(frameworks)('ssekit/client on %s', (framework) => {
  async function start(log: ChatLog): Promise<string> {
    server = await startChatServer(framework, log);
    return server.url;
  }

  it('POSTs a body and yields every event of the answer, ending on the done frame', async () => {
    const log = new ChatLog();
    const url = await start(log);
    const stream = connect(`${url}/chat/a`, { json: { prompt: 'hello' } });
    const events = await collect(stream);
    expect(data(events)).toEqual(tokensFor('hello', log.tokens));
    expect(events.every((e) => e.event === 'message')).toBe(true);
    expect(stream.outcome).toBe('done');
    expect(stream.reconnects).toBe(0);
    // Response headers are readable: the resume header, the named resume route.
    expect(stream.response?.headers.get('ssekit-resume')).toBe('new');
    expect(stream.response?.headers.get('ssekit-resume-url')).toBe('/chat/a/stream');
    expect(log.runs).toBe(1);
  });

  it('streams in lockstep: event k+1 is sent only after the client has event k', async () => {
    const log = new ChatLog();
    const url = await start(log);
    const seen: number[] = [];
    for await (const event of connect(`${url}/lockstep`, { method: 'POST' })) {
      expect(event.event).toBe('message');
      if (event.event === 'ssekit.reset') break;
      const k = Number(event.data.slice(1));
      // The server has sent k and waits: the client got it without the server writing more.
      expect(log.lockstepSent).toBe(k);
      seen.push(k);
      log.ack(k);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it("abort stops the server's producer, and the iteration throws the signal's reason", async () => {
    const log = new ChatLog();
    const url = await start(log);
    const controller = new AbortController();
    const reason = new Error('user pressed stop');
    const events: unknown[] = [];
    await expect(
      collect(connect(`${url}/plain`, { method: 'POST', signal: controller.signal }), (e, n) => {
        events.push(e.data);
        if (n === 3) controller.abort(reason);
      }),
    ).rejects.toBe(reason);
    await log.plainAborted;
    expect(events).toEqual(['p1', 'p2', 'p3']);
  });

  it("breaking out of the loop cancels the request and stops the server's producer", async () => {
    const log = new ChatLog();
    const url = await start(log);
    const stream = connect(`${url}/plain`, { method: 'POST' });
    for await (const event of stream) if (event.data === 'p2') break;
    await log.plainAborted;
    expect(stream.outcome).toBe('closed');
  });

  it('close() ends the iteration without an error', async () => {
    const log = new ChatLog();
    const url = await start(log);
    const stream = connect(`${url}/plain`, { method: 'POST' });
    const events = await collect(stream, (_e, n) => n === 2 && stream.close());
    expect(data(events)).toEqual(['p1', 'p2']);
    await log.plainAborted;
  });

  it('resumes after a server-side socket destroy: every event exactly once, the prompt run once', async () => {
    const log = new ChatLog();
    log.cuts.push(4, 3); // the POST is cut after 4 events, the first resume after 3 more
    log.gated = true;
    const url = await start(log);
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(`${url}/chat/b`, {
      json: { prompt: 'cut' },
      resume: fast,
      onReconnect: (info) => reconnects.push(info),
    });
    const events = await collect(stream, (e) => log.seen(e.id));
    expect(data(events)).toEqual(tokensFor('cut', log.tokens));
    expect(log.runs).toBe(1);
    const gen = (events[0]?.id ?? '').split('.')[0];
    expect(log.resumes.map((r) => r.lastEventId)).toEqual([`${gen}.4`, `${gen}.7`]);
    expect(reconnects.map((r) => [r.attempt, r.url])).toEqual([
      [1, `${url}/chat/b/stream`],
      [1, `${url}/chat/b/stream`],
    ]);
    expect(stream.reconnects).toBe(2);
    expect(stream.outcome).toBe('done');
    expect(stream.response?.headers.get('ssekit-resume')).toBe('continued');
  });

  it('resumes when a proxy drops the connection mid-stream', async () => {
    const log = new ChatLog();
    log.pace = 5;
    const url = await start(log);
    proxy = await startProxy(url);
    const release = log.hold(5); // nothing more is sent until the client has cut
    const stream = connect(`${proxy.url}/chat/c`, { json: { prompt: 'proxy' }, resume: fast });
    const events = await collect(stream, (_e, n) => {
      if (n !== 5) return;
      proxy?.drop();
      release();
    });
    expect(data(events)).toEqual(tokensFor('proxy', log.tokens));
    expect(log.runs).toBe(1);
    expect(proxy.connections).toBe(2);
    expect(log.resumes.map((r) => r.lastEventId)).toEqual([events[4]?.id]);
  });

  it('skips events a sloppy server replays, by their ids', async () => {
    const log = new ChatLog();
    log.overlap = 3; // every resume starts 3 events before the cursor
    log.cuts.push(6);
    const url = await start(log);
    const events = await collect(
      connect(`${url}/chat/d`, { json: { prompt: 'dupes' }, resume: fast }),
    );
    expect(data(events)).toEqual(tokensFor('dupes', log.tokens));
  });

  it("waits as long as the server's retry: asks before reconnecting", async () => {
    const log = new ChatLog();
    log.retry = 300;
    log.cuts.push(2);
    log.gated = true;
    const url = await start(log);
    const reconnects: (ReconnectInfo & { at: number })[] = [];
    const events = await collect(
      connect(`${url}/chat/e`, {
        json: { prompt: 'retry' },
        resume: { delay: 1 },
        onReconnect: (info) => reconnects.push({ ...info, at: Date.now() }),
      }),
      (e) => log.seen(e.id),
    );
    expect(data(events)).toEqual(tokensFor('retry', log.tokens));
    expect(reconnects).toHaveLength(1);
    expect(reconnects[0]?.delay).toBeGreaterThanOrEqual(300);
    expect(reconnects[0]?.delay).toBeLessThanOrEqual(375); // + at most 25% jitter
    expect((log.resumes[0]?.at ?? 0) - (reconnects[0]?.at ?? 0)).toBeGreaterThanOrEqual(295);
  });

  it('retries a reconnect answered 503 (a server restarting), with backoff', async () => {
    const log = new ChatLog();
    log.cuts.push(3);
    log.unavailable = 2;
    const url = await start(log);
    const reconnects: ReconnectInfo[] = [];
    const events = await collect(
      connect(`${url}/chat/u`, {
        json: { prompt: 'deploy' },
        resume: fast,
        onReconnect: (info) => reconnects.push(info),
      }),
    );
    expect(data(events)).toEqual(tokensFor('deploy', log.tokens));
    expect(reconnects.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(reconnects[1]?.error).toMatchObject({ code: 'HTTP_ERROR', status: 503 });
    expect(log.runs).toBe(1);
  });

  it('stops on 204 when the stream was cut after its last event', async () => {
    const log = new ChatLog();
    log.tokens = 4;
    log.cuts.push(4); // every event delivered, the done frame lost
    log.gated = true;
    const url = await start(log);
    const stream = connect(`${url}/chat/f`, { json: { prompt: 'end' }, resume: fast });
    const events = await collect(stream, (e) => log.seen(e.id));
    expect(data(events)).toEqual(tokensFor('end', 4));
    expect(stream.outcome).toBe('no-content');
    expect(log.resumes).toHaveLength(1);
  });

  it('yields nothing for a 204 from the first request', async () => {
    const url = await start(new ChatLog());
    const stream = connect(`${url}/chat/none/stream`);
    expect(await collect(stream)).toEqual([]);
    expect(stream.outcome).toBe('no-content');
  });

  it('yields ssekit.reset with its reason when the cursor is refused, then the replay', async () => {
    const log = new ChatLog();
    log.cuts.push(5);
    const url = await start(log);
    const resets: string[] = [];
    let text = '';
    const stream = connect(`${url}/chat/g`, {
      json: { prompt: 'reset' },
      resume: fast,
      onReset: (reason) => resets.push(reason),
      onReconnect: () => {
        const chat = log.chats.get('g');
        if (chat) chat.trimmed = true; // the server can no longer continue from the cursor
      },
    });
    const events = await collect(stream, (event) => {
      // What a page does: discard the partial answer, show the replay.
      text = event.event === 'ssekit.reset' ? '' : text + String(event.data);
    });
    const tokens = tokensFor('reset', log.tokens);
    expect(events[5]).toEqual({
      event: 'ssekit.reset',
      data: { reason: 'trimmed' },
      id: undefined,
    });
    expect(data(events.slice(0, 5))).toEqual(tokens.slice(0, 5));
    expect(data(events.slice(6))).toEqual(tokens);
    expect(text).toBe(tokens.join(''));
    expect(resets).toEqual(['trimmed']);
    expect(stream.resetReason).toBe('trimmed');
    expect(log.runs).toBe(1);
  });

  it('reports a forged cursor as a reset and replays from the start', async () => {
    const log = new ChatLog();
    const url = await start(log);
    await collect(connect(`${url}/chat/h`, { json: { prompt: 'forged' } }));
    const events = await collect(connect(`${url}/chat/h/stream`, { lastEventId: 'forged.3' }));
    expect(events[0]).toMatchObject({
      event: 'ssekit.reset',
      data: { reason: 'generation_changed' },
    });
    expect(data(events.slice(1))).toEqual(tokensFor('forged', log.tokens));
  });

  it('throws STREAM_CUT after the last attempt, with the last failure as cause', async () => {
    const log = new ChatLog();
    log.cuts.push(3);
    const url = await start(log);
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(`${url}/chat/i`, {
      json: { prompt: 'gone' },
      resume: { attempts: 3, delay: 5, maxDelay: 20 },
      onReconnect(info) {
        reconnects.push(info);
        if (info.attempt === 1) void server?.close(); // the server goes away for good
      },
    });
    const error = await collect(stream).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SseClientError);
    expect((error as SseClientError).code).toBe('STREAM_CUT');
    expect((error as SseClientError).cause).toBeInstanceOf(TypeError); // fetch failed
    expect(reconnects.map((r) => r.attempt)).toEqual([1, 2, 3]);
    // Exponential: each wait at least doubles the last (jitter only adds).
    expect(reconnects[1]!.delay).toBeGreaterThanOrEqual(10);
    expect(reconnects[2]!.delay).toBeGreaterThanOrEqual(20);
    server = undefined;
  });

  it('never re-sends a request that cannot be resumed: STREAM_CUT at once', async () => {
    const log = new ChatLog();
    const url = await start(log);
    proxy = await startProxy(url);
    const reconnects: ReconnectInfo[] = [];
    const error = await collect(
      connect(`${proxy.url}/plain`, { method: 'POST', onReconnect: (i) => reconnects.push(i) }),
      (_e, n) => n === 2 && proxy?.drop(),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'STREAM_CUT' });
    expect(reconnects).toEqual([]);
    expect(proxy.connections).toBe(1);
  });

  it('throws HTTP_ERROR with the status and the body text', async () => {
    const url = await start(new ChatLog());
    const error = await collect(connect(`${url}/status/503`)).catch((e: unknown) => e);
    expect(isSseError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'HTTP_ERROR', status: 503, body: 'nope' });
  });

  it('throws BAD_CONTENT_TYPE for a body that is not an event stream', async () => {
    const url = await start(new ChatLog());
    const error = await collect(connect(`${url}/html`)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'BAD_CONTENT_TYPE', status: 200 });
    expect((error as SseClientError).response?.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('surfaces an event: error frame as SERVER_ERROR with its data, never as a chunk', async () => {
    const url = await start(new ChatLog());
    const events: unknown[] = [];
    const error = await collect(connect(`${url}/fails`, { method: 'POST' }), (e) =>
      events.push(e.data),
    ).catch((e: unknown) => e);
    expect(events).toEqual(['one', 'two']);
    expect(error).toMatchObject({
      code: 'SERVER_ERROR',
      data: { code: 'internal_error', error: 'Internal Server Error' },
    });
  });
});

describe('ssekit/client with NDJSON', () => {
  it('counts lines from SSEKit-Cursor, resumes with the count, and skips replayed lines', async () => {
    const log = new ChatLog();
    log.format = 'ndjson';
    log.overlap = 2;
    log.cuts.push(5);
    server = await startChatServer('express', log);
    const stream = connect(`${server.url}/chat/n`, {
      format: 'ndjson',
      json: { prompt: 'lines' },
      resume: fast,
    });
    const events = await collect(stream);
    expect(data(events)).toEqual(tokensFor('lines', log.tokens));
    const gen = log.chats.get('n')?.gen;
    expect(log.resumes.map((r) => r.lastEventId)).toEqual([`${gen}.5`]);
    expect(stream.outcome).toBe('done');
  });

  it('yields a reset when the header says so, then the replay', async () => {
    const log = new ChatLog();
    log.format = 'ndjson';
    server = await startChatServer('koa', log);
    await collect(connect(`${server.url}/chat/m`, { format: 'ndjson', json: { prompt: 'x' } }));
    const events = await collect(
      connect(`${server.url}/chat/m/stream`, { format: 'ndjson', lastEventId: 'other.2' }),
    );
    expect(events[0]?.event).toBe('ssekit.reset');
    expect(data(events.slice(1))).toEqual(tokensFor('x', log.tokens));
  });
});

describe('connect() options', () => {
  it.each([
    ['format', { format: 'xml' }],
    ['parse', { parse: 'yaml' }],
    ['resume', { resume: 3 }],
    ['resume.attempts', { resume: { attempts: -1 } }],
    ['resume.delay', { resume: { delay: 1.5 } }],
    ['maxEventSize', { maxEventSize: 0 }],
    ['onReconnect', { onReconnect: 'yes' }],
    ['body', { body: 'a', json: {} }],
    ['done', { done: 'DONE' }],
  ])('refuses a bad `%s` before any request, naming it', (field, options) => {
    let fetched = false;
    const fetch = (() => {
      fetched = true;
      return Promise.reject(new Error('not reached'));
    }) as typeof globalThis.fetch;
    expect(() => connect('http://127.0.0.1:9/', { ...options, fetch } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', field }),
    );
    expect(fetched).toBe(false);
  });

  it('yields nothing more once aborted or closed, even events already received in the same chunk', async () => {
    const body = 'data: a\n\ndata: b\n\ndata: c\n\ndata: [DONE]\n\n';
    const fetch = (() =>
      Promise.resolve(
        new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
      )) as typeof globalThis.fetch;
    const controller = new AbortController();
    const seen: unknown[] = [];
    await expect(
      collect(connect('http://127.0.0.1:9/', { fetch, signal: controller.signal }), (e) => {
        seen.push(e.data);
        controller.abort(new Error('stop'));
      }),
    ).rejects.toThrow('stop');
    expect(seen).toEqual(['a']);
    const stream = connect('http://127.0.0.1:9/', { fetch });
    const closed = await collect(stream, () => stream.close());
    expect(data(closed)).toEqual(['a']);
    expect(stream.outcome).toBe('closed');
  });

  it('can be iterated only once', async () => {
    const body = 'data: a\n\ndata: [DONE]\n\n';
    const fetch = (() =>
      Promise.resolve(
        new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
      )) as typeof globalThis.fetch;
    const stream = connect('http://127.0.0.1:9/', { fetch });
    expect(data(await collect(stream))).toEqual(['a']);
    expect(() => stream[Symbol.asyncIterator]()).toThrow(TypeError);
  });

  it('throws EVENT_TOO_LARGE when an unfinished event buffers more than maxEventSize', async () => {
    const encoder = new TextEncoder();
    const chunks = ['data: ' + 'x'.repeat(40) + '\n', 'data: ' + 'y'.repeat(40) + '\n', '\n'];
    const fetch = (() =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            pull(controller) {
              const chunk = chunks.shift();
              if (chunk === undefined) controller.close();
              else controller.enqueue(encoder.encode(chunk));
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      )) as typeof globalThis.fetch;
    await expect(
      collect(connect('http://127.0.0.1:9/', { fetch, maxEventSize: 50 })),
    ).rejects.toMatchObject({ code: 'EVENT_TOO_LARGE', field: 'maxEventSize' });
  });
});
