/* eslint-disable @typescript-eslint/require-await -- Fastify hooks and routes are async functions */
/**
 * ssekit/fastify and Fastify's lifecycle: hooks, the request logger, the error handler,
 * onResponse and onRequestAbort, handlerTimeout, the stream toggle as Fastify parses the request,
 * with @fastify/compress and @fastify/etag registered app-wide. The behaviour every adapter shares
 * is in the conformance suite (test/conformance).
 */
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import fastifyCompress from '@fastify/compress';
import fastifyEtag from '@fastify/etag';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { sendSse, sse } from 'ssekit/fastify';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { deferred, EventReader, rawRequest, readAll, until } from './conformance/clients.js';

const apps: FastifyInstance[] = [];
/** For answers Fastify sends itself, which @fastify/compress would otherwise compress. */
const IDENTITY = { 'accept-encoding': 'identity' };

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A Fastify app with compression (threshold 0) and ETags app-wide, as users register them. */
async function build(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  // Open streams would hold app.close() until they end; the tests end their own.
  const app = Fastify({ forceCloseConnections: true, ...options });
  apps.push(app);
  await app.register(fastifyCompress, { threshold: 0 });
  await app.register(fastifyEtag);
  return app;
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** A logger destination that keeps every JSON line Fastify's logger (pino) writes. */
function logLines(): { lines: Record<string, unknown>[]; stream: { write(line: string): void } } {
  const lines: Record<string, unknown>[] = [];
  return { lines, stream: { write: (line) => void lines.push(JSON.parse(line) as never) } };
}

describe('hooks and headers', () => {
  it('runs onRequest and preHandler hooks first and keeps the headers they set on the stream', async () => {
    const app = await build();
    const order: string[] = [];
    app.addHook('onRequest', async (_request, reply) => {
      order.push('onRequest');
      reply.header('set-cookie', ['a=1', 'b=2']);
    });
    app.addHook('preHandler', async (_request, reply) => {
      order.push('preHandler');
      reply.header('x-pre-handler', 'kept');
      // What a cache or static plugin might leave behind: wrong for a stream.
      reply.header('etag', '"stale"');
      reply.header('last-modified', new Date(0).toUTCString());
      reply.header('content-length', '5');
      reply.header('content-encoding', 'gzip');
    });
    app.get(
      '/stream',
      sse(() => {
        order.push('handler');
        return ['one', 'two'];
      }),
    );
    app.get('/json', async () => ({ answer: 'compressed and tagged' }));
    const url = await listen(app);

    const { res } = await rawRequest(`${url}/stream`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-pre-handler']).toBe('kept');
    for (const name of ['etag', 'last-modified', 'content-length', 'content-encoding']) {
      expect(res.headers, name).not.toHaveProperty(name);
    }
    expect(await readAll(res)).toBe('data: one\n\ndata: two\n\n');
    expect(order).toEqual(['onRequest', 'preHandler', 'handler']);

    // The plugins are live on the same app: an ordinary route is compressed and tagged.
    const json = await rawRequest(`${url}/json`, { headers: { 'if-none-match': '"none"' } });
    expect(json.res.headers['content-encoding']).toBe('gzip');
    expect(json.res.headers.etag).toBeDefined();
    json.res.resume();
  });

  it('skips preSerialization and onSend hooks: the frames are written past them', async () => {
    const app = await build();
    let onSend = 0;
    let preSerialization = 0;
    app.addHook('onSend', async (_request, reply) => {
      onSend++;
      reply.header('x-on-send', 'set');
    });
    app.addHook('preSerialization', async () => void preSerialization++);
    app.get(
      '/stream',
      sse(() => ['x']),
    );
    app.get('/object', async () => ({ plain: true }));
    const url = await listen(app);
    const stream = await rawRequest(`${url}/stream`);
    expect(await readAll(stream.res)).toBe('data: x\n\n');
    expect([onSend, preSerialization]).toEqual([0, 0]);
    // So what an onSend hook would set is not on a stream (a documented limit).
    expect(stream.res.headers).not.toHaveProperty('x-on-send');
    const object = await rawRequest(`${url}/object`);
    await readAll(object.res);
    expect([onSend, preSerialization]).toEqual([1, 1]);
    expect(object.res.headers['x-on-send']).toBe('set');
  });
});

describe('the request logger, onResponse and onRequestAbort', () => {
  it('logs the request, and its completion only once the stream has ended', async () => {
    const { lines, stream } = logLines();
    const app = await build({ logger: { level: 'info', stream } });
    const release = deferred();
    app.get(
      '/stream',
      sse(async (writer, request) => {
        request.log.info('streaming');
        await writer.send('first');
        await release.promise;
        await writer.send('last');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/stream`);
    const reader = new EventReader(res);
    await reader.waitFor(1);

    const incoming = lines.find((line) => line.msg === 'incoming request');
    expect(incoming).toMatchObject({ req: { method: 'GET', url: '/stream' } });
    const { reqId } = incoming as { reqId: string };
    expect(lines.find((line) => line.msg === 'streaming')).toMatchObject({ reqId });
    expect(lines.filter((line) => line.msg === 'request completed')).toEqual([]);

    release.resolve();
    await reader.ended;
    expect(reader.events.map((event) => event.data)).toEqual(['first', 'last']);
    await until(() => lines.some((line) => line.msg === 'request completed'), 'the log line');
    expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({
      reqId,
      res: { statusCode: 200 },
    });
  });

  it('runs onResponse when the stream ends, its elapsedTime covering the whole stream', async () => {
    const app = await build();
    const events: string[] = [];
    const release = deferred();
    let elapsed = 0;
    app.addHook('onResponse', async (_request, reply) => {
      events.push('onResponse');
      elapsed = reply.elapsedTime;
    });
    app.get(
      '/stream',
      sse(async (writer) => {
        await writer.send('first');
        await release.promise;
        events.push('producer ended');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/stream`);
    const reader = new EventReader(res);
    await reader.waitFor(1);
    expect(events).toEqual([]);
    const firstEventAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 30));
    const held = performance.now() - firstEventAt;
    release.resolve();
    await reader.ended;
    await until(() => events.length === 2, 'onResponse');
    expect(events).toEqual(['producer ended', 'onResponse']);
    // The reply began before the first event reached the client and ended after the release.
    expect(elapsed).toBeGreaterThanOrEqual(held);
  });

  it('on a client abort, aborts the writer and runs onRequestAbort, but not onResponse', async () => {
    const { lines, stream } = logLines();
    const app = await build({ logger: { level: 'info', stream } });
    const events: string[] = [];
    app.addHook('onResponse', async (request) => void events.push(`onResponse ${request.url}`));
    app.addHook('onRequestAbort', async (request) => void events.push(`abort ${request.url}`));
    const aborted = deferred<unknown>();
    app.get(
      '/endless',
      sse(async (writer) => {
        await writer.send('one');
        await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
        aborted.resolve(writer.signal.reason);
      }),
    );
    app.get(
      '/short',
      sse(() => ['x']),
    );
    const url = await listen(app);
    const { req, res } = await rawRequest(`${url}/endless`);
    await new EventReader(res).waitFor(1);
    req.destroy();
    expect(await aborted.promise).toMatchObject({ code: 'CLIENT_GONE' });
    await until(() => events.includes('abort /endless'), 'onRequestAbort');
    // A later request's onResponse runs; the aborted one's never did.
    await readAll((await rawRequest(`${url}/short`)).res);
    await until(() => events.includes('onResponse /short'), 'onResponse of /short');
    expect(events).toEqual(['abort /endless', 'onResponse /short']);
    // Nor does the logger's completion line, which Fastify writes from the same place.
    const completed = (): typeof lines => lines.filter((line) => line.msg === 'request completed');
    await until(() => completed().length === 1, 'the completion line of /short');
    const endless = lines.find((line) => line.msg === 'incoming request')?.reqId;
    expect(completed().map((line) => line.reqId)).not.toContain(endless);
  });
});

describe('closing the app', () => {
  it("by Fastify's default, app.close() lets open streams run to their end", async () => {
    const app = Fastify();
    const release = deferred();
    app.get(
      '/stream',
      sse(async (writer) => {
        await writer.send('one');
        await release.promise;
        await writer.send('two');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/stream`);
    const reader = new EventReader(res);
    await reader.waitFor(1);
    const closing = app.close();
    release.resolve();
    await reader.ended;
    // Sent after close() was called: the connection was not cut.
    expect(reader.events.map((event) => event.data)).toEqual(['one', 'two']);
    await closing;
  });

  it('with forceCloseConnections: true, app.close() ends open streams and aborts their writers', async () => {
    const app = await build({ forceCloseConnections: true });
    const aborted = deferred<unknown>();
    app.get(
      '/endless',
      sse(async (writer) => {
        await writer.send('one');
        await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
        aborted.resolve(writer.signal.reason);
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/endless`);
    const reader = new EventReader(res);
    await reader.waitFor(1);
    await app.close();
    expect(await aborted.promise).toMatchObject({ code: 'CLIENT_GONE' });
    await reader.ended;
  });
});

describe('errors', () => {
  it('sends a failure before the first frame to setErrorHandler and onError hooks', async () => {
    const app = await build();
    const seen: string[] = [];
    app.addHook('preHandler', async (_request, reply) => {
      reply.header('x-pre-handler', 'kept');
    });
    app.addHook(
      'onError',
      async (_request, _reply, error) => void seen.push(`onError ${error.message}`),
    );
    app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      seen.push(`handler ${error.message}`);
      return reply.code(error.statusCode ?? 500).send({ error: 'try later' });
    });
    app.get(
      '/fails',
      sse(async () => {
        await Promise.resolve();
        throw Object.assign(new Error('rate limited upstream'), { statusCode: 429 });
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/fails`, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(429);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['cache-control']).toBeUndefined();
    expect(res.headers['x-pre-handler']).toBe('kept');
    expect(res.rawHeaders.filter((name) => name.toLowerCase() === 'x-pre-handler')).toHaveLength(1);
    // Fastify's own send path: its onSend hooks (here @fastify/compress) apply to the error answer.
    expect(res.headers['content-encoding']).toBe('gzip');
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    expect(JSON.parse(gunzipSync(Buffer.concat(chunks)).toString())).toEqual({
      error: 'try later',
    });
    expect(seen).toEqual(['onError rate limited upstream', 'handler rate limited upstream']);
  });

  it("takes the hooks' headers back for the error answer, so Fastify picks its own type", async () => {
    const app = await build();
    // A route that announces its type early, as SSE routes often do.
    app.addHook('preHandler', async (_request, reply) => {
      reply.type('text/event-stream');
    });
    app.setErrorHandler((_error, _request, reply) => reply.code(503).send({ error: 'no model' }));
    app.get(
      '/fails',
      sse(async () => {
        await Promise.resolve();
        throw new Error('secret-detail');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/fails`, { headers: IDENTITY });
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(await readAll(res))).toEqual({ error: 'no model' });
  });

  it("answers with Fastify's default error handler when the app has none (which shows error.message)", async () => {
    const { lines, stream } = logLines();
    const app = await build({ logger: { level: 'error', stream } });
    app.get(
      '/fails',
      sse(() => {
        throw new Error('internal detail');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/fails`, { headers: IDENTITY });
    expect(res.statusCode).toBe(500);
    // Fastify's default, not ssekit's: set an error handler to keep internals from clients.
    expect(JSON.parse(await readAll(res))).toMatchObject({
      statusCode: 500,
      message: 'internal detail',
    });
    expect(lines).toMatchObject([{ level: 50, err: { message: 'internal detail' } }]);
  });

  it('ends a stream that fails after its first frame with the error event, past the error handler', async () => {
    const app = await build();
    let handled = 0;
    app.setErrorHandler((_error, _request, reply) => {
      handled++;
      return reply.code(503).send('error handler');
    });
    app.get(
      '/breaks',
      sse(async (writer) => {
        await writer.send('partial');
        throw new Error('secret-detail');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/breaks`);
    expect(res.statusCode).toBe(200);
    expect(await readAll(res)).toBe(
      'data: partial\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
    expect(handled).toBe(0);
  });
});

describe('handlerTimeout', () => {
  it('bounds the time to the first frame only: a started stream outlives it', async () => {
    const app = await build();
    app.get(
      '/long',
      { handlerTimeout: 50 },
      sse(async (writer) => {
        await writer.send('early');
        await new Promise((resolve) => setTimeout(resolve, 200));
        await writer.send('late');
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/long`);
    expect(await readAll(res)).toBe('data: early\n\ndata: late\n\n');
  });

  it("answers Fastify's 503 when no frame came in time, and aborts the writer", async () => {
    const app = await build();
    const aborted = deferred<boolean>();
    app.get(
      '/late',
      { handlerTimeout: 50 },
      sse(async (writer) => {
        await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
        await writer.send('too late'); // a no-op
        aborted.resolve(writer.closed);
      }),
    );
    const url = await listen(app);
    const { res } = await rawRequest(`${url}/late`);
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).not.toBe('text/event-stream');
    await readAll(res);
    expect(await aborted.promise).toBe(true);
  });
});

describe('the stream toggle', () => {
  it('reads request.body and request.query as Fastify parsed them', async () => {
    const app = await build();
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-upstream', 'kept');
    });
    const answer = sse(() => ['Hello', ' wörld'], { json: true });
    app.post('/chat', answer);
    app.get('/chat', answer);
    const url = await listen(app);
    const document = '{"response":"Hello wörld"}';
    const post = (body: unknown) =>
      rawRequest(`${url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    const json = await post({ prompt: 'hi', stream: false });
    expect(json.res.headers['content-type']).toBe('application/json');
    expect(json.res.headers['content-length']).toBe(String(Buffer.byteLength(document)));
    expect(json.res.headers['content-encoding']).toBeUndefined();
    expect(json.res.headers['x-upstream']).toBe('kept');
    expect(await readAll(json.res)).toBe(document);

    const streamed = await post({ prompt: 'hi', stream: 'True' });
    expect(streamed.res.headers['content-type']).toBe('text/event-stream');
    expect(await readAll(streamed.res)).toBe('data: Hello\n\ndata:  wörld\n\n');

    const query = await rawRequest(`${url}/chat?stream=False`);
    expect(query.res.headers['content-type']).toBe('application/json');
    expect(await readAll(query.res)).toBe(document);

    // A repeated parameter (an array in request.query) says nothing: the default, a stream.
    const repeated = await rawRequest(`${url}/chat?stream=0&stream=0`);
    expect(repeated.res.headers['content-type']).toBe('text/event-stream');
    await readAll(repeated.res);
  });
});

describe('sendSse', () => {
  it('streams from inside an async route handler, and hands a pre-stream failure to the error handler', async () => {
    const app = await build();
    const errors: string[] = [];
    app.setErrorHandler((error: Error, _request, reply) => {
      errors.push(error.message);
      return reply.code(502).send('upstream failed');
    });
    app.get('/ok', async (request, reply) => {
      const { prompt = '' } = request.query as { prompt?: string };
      await sendSse(reply, [`you said ${prompt}`], { done: { data: '[DONE]' } });
    });
    app.get('/fails', async (_request, reply) => {
      await sendSse(reply, () => Promise.reject(new Error('no upstream')));
    });
    const url = await listen(app);
    const ok = await rawRequest(`${url}/ok?prompt=hi`);
    expect(ok.res.headers['content-type']).toBe('text/event-stream');
    expect(await readAll(ok.res)).toBe('data: you said hi\n\ndata: [DONE]\n\n');
    const fails = await rawRequest(`${url}/fails`, { headers: IDENTITY });
    expect(fails.res.statusCode).toBe(502);
    expect(await readAll(fails.res)).toBe('upstream failed');
    expect(errors).toEqual(['no upstream']);
  });
});

describe('types', () => {
  it("takes the route's generics and an HTTP/2 server's request types", async () => {
    const app = await build();
    app.post<{ Body: { prompt: string } }>(
      '/typed',
      sse((_writer, request) => {
        expectTypeOf(request.body).toEqualTypeOf<{ prompt: string }>();
        return [request.body.prompt];
      }),
    );
    const h2 = Fastify({ http2: true });
    apps.push(h2 as unknown as FastifyInstance);
    h2.get(
      '/h2',
      sse((_writer, request) => {
        expectTypeOf(request.raw.stream).not.toBeAny();
        return ['h2'];
      }),
    );
    h2.get('/inline', async (_request, reply) => sendSse(reply, ['h2']));
    const url = await listen(app);
    const response = await fetch(`${url}/typed`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"prompt":"typed"}',
    });
    expect(await response.text()).toBe('data: typed\n\n');
  });
});
