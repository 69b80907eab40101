/**
 * ssekit/hono as users mount it (issue 8, items 3, 4 and 9): app-wide middleware on
 * @hono/node-server and on the fetch path (`app.request()`, and `app.fetch` behind a server that
 * passes no Node response), and the stream toggle's bounded body read.
 */
import { request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { except } from 'hono/combine';
import { compress } from 'hono/compress';
import { cors } from 'hono/cors';
import { etag } from 'hono/etag';
import { secureHeaders } from 'hono/secure-headers';
import { timing } from 'hono/timing';
import type { SseWriter } from 'ssekit';
import { sse, TOGGLE_BODY_LIMIT } from 'ssekit/hono';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, EventReader } from '../conformance/clients.js';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function serve(fetch: (request: Request, env?: unknown) => Response | Promise<Response>) {
  const server = createAdaptorServer({ fetch }) as Server;
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const FORBIDDEN = ['content-length', 'etag', 'last-modified', 'content-encoding'];

/** The headers `secureHeaders()`, `timing()`, `cors()` and an after-`next()` middleware set. */
function expectMiddlewareHeaders(headers: Headers, what: string): void {
  expect(headers.get('x-content-type-options'), what).toBe('nosniff');
  expect(headers.get('x-frame-options'), what).toBe('SAMEORIGIN');
  expect(headers.get('server-timing'), what).toMatch(/^total;dur=/);
  expect(headers.get('access-control-allow-origin'), what).toBe('*');
  expect(headers.get('x-after'), what).toBe('kept');
}

describe('on @hono/node-server', () => {
  it('keeps the headers of secureHeaders(), timing(), cors() and after-next() middleware on the stream', async () => {
    const app = new Hono();
    app.use(etag());
    app.use(compress());
    app.use(secureHeaders());
    app.use(timing());
    app.use(cors());
    app.use(async (c, next) => {
      await next();
      c.header('x-after', 'kept');
    });
    app.get('/plain', (c) => c.text('plain'));
    app.get(
      '/stream',
      sse((writer) => void writer.send('hi')),
    );
    const url = await serve(app.fetch);
    const plain = await fetch(`${url}/plain`, { headers: { origin: 'http://app.test' } });
    expectMiddlewareHeaders(plain.headers, 'plain route');
    await plain.text();
    // `If-None-Match: *` keeps getting the stream, not etag()'s 304.
    for (const conditional of [{}, { 'if-none-match': '"stale"' }, { 'if-none-match': '*' }]) {
      const res = await fetch(`${url}/stream`, {
        headers: {
          origin: 'http://app.test',
          'accept-encoding': 'gzip, deflate, br',
          ...conditional,
        },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expectMiddlewareHeaders(res.headers, 'sse route');
      for (const name of FORBIDDEN) expect(res.headers.get(name), name).toBeNull();
      expect(await res.text()).toBe('data: hi\n\n');
    }
  });

  it('streams on an app without middleware, where Hono hands over the response as it is', async () => {
    const app = new Hono();
    app.get(
      '/burst',
      sse(async (writer) => {
        for (let i = 0; i < 1000; i++) await writer.send(`token ${i}`);
      }),
    );
    const url = await serve(app.fetch);
    const res = await fetch(`${url}/burst`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text.split('\n\n')).toHaveLength(1001);
  });

  it("sends app.onError's answer and no frame when middleware throws after next()", async () => {
    const app = new Hono();
    app.use(async (_c, next) => {
      await next();
      throw new Error('upstream failed after next()');
    });
    const aborted = deferred();
    app.get(
      '/stream',
      sse(async (writer) => {
        writer.signal.addEventListener('abort', () => aborted.resolve());
        await writer.send('never sent');
      }),
    );
    app.onError((_error, c) => c.text('framework error', 503));
    const url = await serve(app.fetch);
    const res = await fetch(`${url}/stream`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('framework error');
    await aborted.promise;
  });
});

/** An endpoint whose producer sends its second event only once the client has the first. */
function twoStep(): { produce: (writer: SseWriter) => Promise<void>; reader: EventReader } {
  const reader = new EventReader();
  const first = deferred();
  reader.onEvent = () => first.resolve();
  return {
    reader,
    async produce(writer) {
      await writer.send('first');
      await first.promise;
      await writer.send('second');
    },
  };
}

// The fetch path, as on Bun, Deno and Workers: `app.request()`, and `app.fetch` behind a server
// that hands Hono no Node response.
const fetchPaths = [
  {
    name: 'app.request()',
    client: (app: Hono) => (path: string, init: RequestInit) => app.request(path, init),
  },
  {
    name: 'app.fetch behind a server',
    client: (app: Hono) => {
      const url = serve((request) => app.fetch(request));
      return async (path: string, init: RequestInit) => fetch(`${await url}${path}`, init);
    },
  },
];

describe.each(fetchPaths)('on the fetch path: $name', ({ client }) => {
  it('answers at once under etag() and compress() app-wide, without a conditional header, with a stale one, and with gzip accepted', async () => {
    const app = new Hono();
    app.use(etag());
    app.use(compress({ threshold: 0 }));
    let endpoint = twoStep();
    app.get(
      '/stream',
      sse((writer) => endpoint.produce(writer)),
    );
    const request = client(app);
    for (const headers of [
      {},
      { 'if-none-match': '"stale"' },
      { 'accept-encoding': 'gzip, deflate, br' },
    ]) {
      endpoint = twoStep();
      // The second event waits for the client to have the first: a response held until the
      // stream ends never comes, and the test fails by its timeout.
      const res = await request('/stream', { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      expect(res.headers.get('content-encoding')).toBeNull();
      const { reader } = endpoint;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        reader.feed(chunk);
      expect(reader.events.map((event) => event.data)).toEqual(['first', 'second']);
    }
  }, 5_000);

  it('gets 304 for If-None-Match: * from etag() app-wide, by design', async () => {
    const app = new Hono();
    app.use(etag());
    app.get(
      '/stream',
      sse((writer) => void writer.send('hi')),
    );
    const matched = await client(app)('/stream', { headers: { 'if-none-match': '*' } });
    expect(matched.status).toBe(304);
    await matched.text();
  });

  it('streams to If-None-Match: * when etag() is mounted to skip the stream routes', async () => {
    const app = new Hono();
    // etag() for every route but the streams
    app.use(except(['/chat', '/chat/*'], etag()));
    app.get('/page', (c) => c.text('a page worth caching'));
    app.get(
      '/chat',
      sse((writer) => void writer.send('hi')),
    );
    const request = client(app);
    const streamed = await request('/chat', { headers: { 'if-none-match': '*' } });
    expect(streamed.status).toBe(200);
    expect(await streamed.text()).toBe('data: hi\n\n');
    const page = await request('/page', { headers: { 'if-none-match': '*' } });
    expect(page.status).toBe(304);
    await page.text();
  });
});

describe('the stream toggle', () => {
  function toggleApp(): { app: Hono; produced: () => number } {
    const app = new Hono();
    let count = 0;
    app.post(
      '/chat',
      sse(
        async (writer, c) => {
          count++;
          // The rule has read the body; the handler can still.
          const { prompt } = await c.req.json<{ prompt: string }>();
          await writer.send(`echo: ${prompt}`);
        },
        { json: true },
      ),
    );
    return { app, produced: () => count };
  }

  const json = { 'content-type': 'application/json' };

  it("answers a malformed JSON body with 400 from Hono's default error handler, not a stream", async () => {
    const { app, produced } = toggleApp();
    const res = await app.request('/chat', {
      method: 'POST',
      headers: json,
      body: '{"stream": fal',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).not.toBe('text/event-stream');
    expect(produced()).toBe(0);
  });

  it('reads the body for the rule and leaves it to the handler', async () => {
    const { app } = toggleApp();
    const document = await app.request('/chat', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'hi', stream: false }),
    });
    expect(await document.json()).toEqual({ response: 'echo: hi' });
    const stream = await app.request('/chat?stream=0&stream=0', {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ prompt: 'hi' }),
    });
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    expect(await stream.text()).toBe('data: echo: hi\n\n');
  });

  it('answers a body over 1 MiB with 413, by its Content-Length', async () => {
    const { app, produced } = toggleApp();
    const body = JSON.stringify({ prompt: 'x'.repeat(TOGGLE_BODY_LIMIT), stream: false });
    const res = await app.request('/chat', { method: 'POST', headers: json, body });
    expect(res.status).toBe(413);
    expect(produced()).toBe(0);
  });

  it('answers a chunked body with 413 once it passes 1 MiB, without reading the rest', async () => {
    const { app, produced } = toggleApp();
    const url = new URL(`${await serve(app.fetch)}/chat`);
    // Writes 64 KiB chunks (no Content-Length) until the answer comes, at most 64 MiB.
    const chunk = 'x'.repeat(64 * 1024);
    let written = 0;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(url, { method: 'POST', headers: json });
      req.once('response', resolve);
      req.once('error', reject);
      req.write('{"prompt":"');
      const more = (): void => {
        if (req.destroyed || written >= 64 * 1024 * 1024) return;
        written += chunk.length;
        if (req.write(chunk)) setImmediate(more);
        else req.once('drain', more);
      };
      more();
    });
    expect(res.statusCode).toBe(413);
    res.resume();
    expect(written).toBeLessThan(16 * 1024 * 1024);
    expect(produced()).toBe(0);
  });
});
