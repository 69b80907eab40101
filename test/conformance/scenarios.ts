/**
 * The one scenario list every target must pass (issue 3). Each scenario builds its own app through
 * the target's factory, so the same endpoints run on Express 4 and 5, Koa 2 and 3, Hono on
 * @hono/node-server and plain node:http.
 */
import type { IncomingMessage } from 'node:http';
import axios from 'axios';
import { EventSource } from 'eventsource';
import { customFormat, sseEvent } from 'ssekit';
import request from 'supertest';
import { expect } from 'vitest';
import {
  deferred,
  EventReader,
  HOSTILE_HEADERS,
  http2Request,
  Lockstep,
  rawRequest,
  readAll,
  until,
} from './clients.js';
import {
  AFTER_HEADER,
  type EndpointSpec,
  type Running,
  type Target,
  UPSTREAM_HEADER,
} from './targets.js';

export interface ScenarioContext {
  target: Target;
  /** Starts the target's app with these endpoints; closed after the test. */
  start: (endpoints: EndpointSpec[], http2?: boolean) => Promise<Running>;
}

export interface Scenario {
  name: string;
  /** Whether the scenario applies to a target; all do unless said otherwise. */
  applies?: (target: Target) => boolean;
  run(context: ScenarioContext): Promise<void>;
}

const STEPS = 20;

/** A push endpoint that sends event k + 1 only once the client has event k. */
function lockstepEndpoint(lockstep: Lockstep, method: 'get' | 'post' = 'get'): EndpointSpec {
  return {
    method,
    path: '/lockstep',
    async produce(writer) {
      for (let k = 0; k < STEPS; k++) {
        await writer.send({ k, text: ` token ${k}` }, { event: 'token', id: String(k) });
        await lockstep.received(k);
      }
    },
  };
}

function expectLockstepEvents(
  events: { event?: string | undefined; id?: string | undefined; data: string }[],
): void {
  expect(events.map((event) => JSON.parse(event.data) as unknown)).toEqual(
    Array.from({ length: STEPS }, (_, k) => ({ k, text: ` token ${k}` })),
  );
  expect(events.every((event, k) => event.event === 'token' && event.id === String(k))).toBe(true);
}

/** Feeds a response into an EventReader that acknowledges every event to the lockstep. */
function ackingReader(lockstep: Lockstep, body?: AsyncIterable<Uint8Array | string>): EventReader {
  const reader = new EventReader(body);
  reader.onEvent = (_event, index) => lockstep.ack(index);
  return reader;
}

const FORBIDDEN = ['content-length', 'etag', 'last-modified', 'content-encoding'];

function expectStreamHeaders(res: IncomingMessage): void {
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toBe('text/event-stream');
  expect(res.headers['cache-control']).toBe('no-cache, no-transform');
  expect(res.headers['x-accel-buffering']).toBe('no');
  expect(res.headers.connection).toBe('keep-alive');
  // Node's own HTTP/1.1 framing (ssekit sets no Transfer-Encoding): a cut stream is detectable.
  expect(res.headers['transfer-encoding']).toBe('chunked');
  for (const name of FORBIDDEN) expect(res.headers, name).not.toHaveProperty(name);
}

function counts(): Record<string, number> {
  const result: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) result[type] = (result[type] ?? 0) + 1;
  return result;
}

async function connections(running: Running): Promise<number> {
  return new Promise((resolve) => running.server.getConnections((_error, count) => resolve(count)));
}

export const scenarios: Scenario[] = [
  {
    name: 'answers 200 with exactly the streaming headers, past the app-wide middleware',
    async run({ start }) {
      const app = await start([
        { method: 'get', path: '/hello', produce: (writer) => void writer.send('hi') },
      ]);
      const { res } = await rawRequest(`${app.url}/hello`);
      expectStreamHeaders(res);
      expect(res.headers[UPSTREAM_HEADER]).toBe('kept');
      expect(await readAll(res)).toBe('data: hi\n\n');
    },
  },
  {
    name: 'keeps the headers middleware set before and after next(), minus the four that break a stream',
    async run({ start }) {
      const app = await start([
        { method: 'get', path: '/hello', produce: (writer) => void writer.send('hi') },
        { method: 'post', path: '/hello', produce: (writer) => void writer.send('hi') },
      ]);
      for (const method of ['GET', 'POST']) {
        const { res } = await rawRequest(`${app.url}/hello`, {
          method,
          // A stale validator, as a cache sends (`*`, which the first scenario sends: koa-conditional-get
          // would answer it 304, so ssekit/koa commits such a stream before the chain returns).
          headers: { 'content-type': 'application/json', 'if-none-match': '"stale"' },
          ...(method === 'POST' ? { body: '{"prompt":"hi"}' } : {}),
        });
        expectStreamHeaders(res);
        expect(res.headers[UPSTREAM_HEADER], method).toBe('kept');
        expect(res.headers[AFTER_HEADER], method).toBe('kept');
        expect(await readAll(res)).toBe('data: hi\n\n');
      }
    },
  },
  {
    name: 'puts the headers on the wire before the first token of a returned source',
    async run({ start }) {
      const headersArrived = deferred();
      const app = await start([
        {
          method: 'get',
          path: '/source',
          produce: () =>
            (async function* () {
              await headersArrived.promise;
              yield 'first';
            })(),
        },
      ]);
      const { res } = await rawRequest(`${app.url}/source`);
      headersArrived.resolve();
      expectStreamHeaders(res);
      expect(await readAll(res)).toBe('data: first\n\n');
    },
  },
  {
    name: 'puts the headers on the wire before the first pushed token with `open`',
    async run({ start }) {
      const headersArrived = deferred();
      const app = await start([
        {
          method: 'get',
          path: '/open',
          options: { open: 'ready' },
          async produce(writer) {
            await headersArrived.promise;
            await writer.send('first');
          },
        },
      ]);
      const { res } = await rawRequest(`${app.url}/open`);
      headersArrived.resolve();
      expectStreamHeaders(res);
      expect(await readAll(res)).toBe(': ready\n\ndata: first\n\n');
    },
  },
  {
    name: 'delivers every event before the next is produced (raw node:http)',
    async run({ start }) {
      const lockstep = new Lockstep();
      const app = await start([lockstepEndpoint(lockstep)]);
      const { res } = await rawRequest(`${app.url}/lockstep`);
      const reader = ackingReader(lockstep, res);
      await reader.ended;
      expectLockstepEvents(reader.events);
    },
  },
  {
    name: 'delivers every event before the next is produced without a conditional header or with a stale one (fetch)',
    async run({ start }) {
      for (const conditional of [{}, { 'if-none-match': '"stale"' }]) {
        const lockstep = new Lockstep();
        const app = await start([lockstepEndpoint(lockstep)]);
        const res = await fetch(`${app.url}/lockstep`, {
          headers: { 'accept-encoding': 'gzip, deflate, br', ...conditional },
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('text/event-stream');
        expect(res.headers.get('content-encoding')).toBeNull();
        const reader = ackingReader(lockstep, res.body as AsyncIterable<Uint8Array>);
        await reader.ended;
        expectLockstepEvents(reader.events);
      }
    },
  },
  {
    name: 'delivers every event before the next is produced to a POST with a parsed body (supertest)',
    async run({ start }) {
      const lockstep = new Lockstep();
      const app = await start([lockstepEndpoint(lockstep, 'post')]);
      const reader = ackingReader(lockstep);
      const res = await request(app.url)
        .post('/lockstep')
        .set(HOSTILE_HEADERS)
        .send({ prompt: 'hi' })
        .buffer(true)
        .parse((response, callback) => {
          response.on('data', (chunk: Buffer) => reader.feed(chunk));
          response.on('end', () => callback(null, null));
        });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream');
      expectLockstepEvents(reader.events);
    },
  },
  {
    name: 'delivers every event before the next is produced (axios, responseType stream)',
    async run({ start }) {
      const lockstep = new Lockstep();
      const app = await start([lockstepEndpoint(lockstep)]);
      const res = await axios.get<IncomingMessage>(`${app.url}/lockstep`, {
        responseType: 'stream',
        headers: HOSTILE_HEADERS,
      });
      expect(res.headers['content-type']).toBe('text/event-stream');
      const reader = ackingReader(lockstep, res.data);
      await reader.ended;
      expectLockstepEvents(reader.events);
    },
  },
  {
    name: 'gives EventSource named events, retry, and resumes from Last-Event-ID on reconnect',
    async run({ start }) {
      const lockstep = new Lockstep();
      const seen: (string | undefined)[] = [];
      const app = await start([
        {
          method: 'get',
          path: '/resume',
          options: { retry: 10 },
          async produce(writer, request) {
            const last = request.header('last-event-id');
            seen.push(last);
            const from = last === undefined ? 0 : Number(last) + 1;
            for (let k = from; k < from + 2; k++) {
              await writer.send(`step ${k}`, { event: k === 3 ? 'final' : 'step', id: String(k) });
              await lockstep.received(k);
            }
            // Returning without `done` ends the response: EventSource reconnects.
          },
        },
      ]);
      const received: string[] = [];
      const finished = deferred();
      const source = new EventSource(`${app.url}/resume`, {
        fetch: (input, init) =>
          fetch(input, { ...init, headers: { ...init.headers, ...HOSTILE_HEADERS } }),
      });
      try {
        const onEvent = (event: MessageEvent<string>): void => {
          received.push(`${event.type}:${event.lastEventId}:${event.data}`);
          lockstep.ack(Number(event.lastEventId));
          if (event.type === 'final') finished.resolve();
        };
        source.addEventListener('step', onEvent);
        source.addEventListener('final', onEvent);
        await finished.promise;
      } finally {
        source.close();
      }
      expect(received).toEqual([
        'step:0:step 0',
        'step:1:step 1',
        'step:2:step 2',
        'final:3:step 3',
      ]);
      expect(seen).toEqual([undefined, '1']);
    },
  },
  {
    name: 'on disconnect, calls the source iterator return() and aborts the signal at once',
    async run({ start }) {
      const returned = deferred();
      const aborted = deferred();
      const app = await start([
        {
          method: 'get',
          path: '/endless',
          produce(writer) {
            writer.signal.addEventListener('abort', () => aborted.resolve());
            let sent = false;
            const iterator: AsyncIterator<string> & AsyncIterable<string> = {
              [Symbol.asyncIterator]: () => iterator,
              // One token, then a model that never answers: only return() can end it.
              next: () =>
                sent
                  ? new Promise(() => {})
                  : ((sent = true), Promise.resolve({ value: 'one', done: false })),
              return: () => {
                returned.resolve();
                return Promise.resolve({ value: undefined, done: true });
              },
            };
            return iterator;
          },
        },
      ]);
      const { req, res } = await rawRequest(`${app.url}/endless`);
      const reader = new EventReader(res);
      await reader.waitFor(1);
      req.destroy();
      await Promise.all([returned.promise, aborted.promise]);
    },
  },
  {
    name: 'on disconnect, aborts a push handler and makes its later writes no-ops',
    async run({ start }) {
      const after = deferred<{ closed: boolean; reason: unknown }>();
      const app = await start([
        {
          method: 'post',
          path: '/push',
          async produce(writer) {
            await writer.send('one');
            await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
            await writer.send('too late'); // resolves, writes nothing
            after.resolve({ closed: writer.closed, reason: writer.signal.reason });
          },
        },
      ]);
      const { req, res } = await rawRequest(`${app.url}/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt":"hi"}',
      });
      const reader = new EventReader(res);
      await reader.waitFor(1);
      req.destroy();
      const { closed, reason } = await after.promise;
      expect(closed).toBe(true);
      expect(reason).toMatchObject({ code: 'CLIENT_GONE' });
    },
  },
  {
    name: 'leaves no listeners, timers or handles after 200 connect/abort cycles',
    async run({ start }) {
      let started = 0;
      let aborted = 0;
      const app = await start([
        {
          method: 'get',
          path: '/cycle',
          options: { heartbeat: 60_000 },
          async produce(writer) {
            started++;
            await writer.send('x');
            await new Promise((resolve) => writer.signal.addEventListener('abort', resolve));
            aborted++;
          },
        },
      ]);
      const cycle = async (): Promise<void> => {
        const { req, res } = await rawRequest(`${app.url}/cycle`);
        await new EventReader(res).waitFor(1);
        req.destroy();
      };
      const settle = async (expected: number): Promise<void> => {
        await until(() => aborted === expected, `${expected} aborted producers`);
        let open = await connections(app);
        for (let i = 0; open > 0 && i < 500; i++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          open = await connections(app);
        }
        expect(open).toBe(0);
      };
      await cycle();
      await settle(1);
      const listeners = (): number[] =>
        ['request', 'connection', 'close', 'error'].map((name) => app.server.listenerCount(name));
      const before = { resources: counts(), listeners: listeners() };
      // A leak grows a count; the only timer that may come and go is Node's Date-header cache.
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(Array.from({ length: 20 }, cycle));
      }
      await settle(201);
      expect(started).toBe(201);
      expect(listeners()).toEqual(before.listeners);
      for (const [type, count] of Object.entries(counts())) {
        expect(count, type).toBeLessThanOrEqual(before.resources[type] ?? 0);
      }
    },
  },
  {
    name: 'pauses the producer while the client does not read, then delivers everything',
    async run({ start }) {
      const total = 1000;
      const chunk = 'x'.repeat(64 * 1024);
      let produced = 0;
      let waiting = false;
      const app = await start([
        {
          method: 'get',
          path: '/firehose',
          async produce(writer) {
            for (let i = 0; i < total; i++) {
              produced++;
              waiting = true;
              await writer.send(chunk);
              waiting = false;
            }
          },
        },
      ]);
      const { res } = await rawRequest(`${app.url}/firehose`);
      res.pause();
      // Stalled: the producer waits on send() and its count has stopped moving.
      let last = -1;
      let still = 0;
      await until(() => {
        still = waiting && produced === last ? still + 1 : 0;
        last = produced;
        return still >= 5 || produced === total;
      }, 'the producer to stall');
      expect(produced).toBeLessThan(total / 2);
      let bytes = 0;
      res.on('data', (data: Buffer) => (bytes += data.byteLength));
      res.resume();
      await new Promise((resolve) => res.once('end', resolve));
      expect(produced).toBe(total);
      expect(bytes).toBe(total * (chunk.length + 'data: \n\n'.length));
    },
  },
  {
    name: 'sends a failure before the first frame to the framework error path',
    async run({ target, start }) {
      const app = await start([
        {
          method: 'get',
          path: '/fails',
          produce: async () => {
            await Promise.resolve();
            throw new Error('secret-detail');
          },
        },
      ]);
      const { res } = await rawRequest(`${app.url}/fails`);
      const body = await readAll(res);
      expect(res.statusCode).toBe(target.errorStatus);
      expect(res.headers['content-type']).not.toBe('text/event-stream');
      expect(body).not.toContain('secret-detail');
      if (target.errorMarker) {
        expect(res.headers['x-error-path']).toBeDefined();
        expect(app.frameworkErrors).toMatchObject([{ message: 'secret-detail' }]);
      }
    },
  },
  {
    name: 'ends a stream that fails mid-way with a generic error event, and keeps serving',
    async run({ start }) {
      const app = await start([
        {
          method: 'get',
          path: '/breaks',
          // An async handler that throws after its first frame: Express 4 must not crash.
          async produce(writer) {
            await writer.send('partial');
            throw new Error('secret-detail');
          },
        },
      ]);
      for (let attempt = 0; attempt < 2; attempt++) {
        const { res } = await rawRequest(`${app.url}/breaks`);
        expectStreamHeaders(res);
        const body = await readAll(res);
        expect(body).toBe(
          'data: partial\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
        );
      }
      expect(app.frameworkErrors).toEqual([]);
    },
  },
  {
    name: 'keeps a quiet stream alive past server.setTimeout with heartbeats',
    async run({ start }) {
      const app = await start([
        {
          method: 'get',
          path: '/quiet',
          options: { heartbeat: 50 },
          async produce(writer) {
            await writer.send('before');
            // A model thinking for longer than the server's idle timeout.
            await new Promise((resolve) => setTimeout(resolve, 900));
            await writer.send('after');
          },
        },
      ]);
      app.server.setTimeout(300);
      const { res } = await rawRequest(`${app.url}/quiet`);
      const reader = new EventReader(res);
      await reader.ended;
      expect(reader.events.map((event) => event.data)).toEqual(['before', 'after']);
      expect(reader.comments.length).toBeGreaterThan(0);
    },
  },
  {
    name: 'serves two endpoints with different frame formats from one app',
    async run({ start }) {
      const app = await start([
        {
          method: 'get',
          path: '/sse',
          options: { retry: 2500, event: 'token', done: { event: 'done', data: '' } },
          produce: () => ['a\nb', sseEvent(' c', { id: '' }), sseEvent({ n: 1 }, { id: '7' })],
        },
        {
          method: 'get',
          path: '/custom',
          options: { format: customFormat({ prefix: '<<', suffix: '>>\n' }) },
          produce: () => ['Hello', ' world'],
        },
      ]);
      const sse = await rawRequest(`${app.url}/sse`);
      const custom = await rawRequest(`${app.url}/custom`);
      expect(sse.res.headers['content-type']).toBe('text/event-stream');
      expect(custom.res.headers['content-type']).toBe('text/plain; charset=utf-8');
      const reader = new EventReader(sse.res);
      await reader.ended;
      expect(reader.raw.startsWith('retry: 2500\n')).toBe(true);
      expect(reader.events).toEqual([
        { event: 'token', id: undefined, data: 'a\nb' },
        { event: 'token', id: '', data: ' c' },
        { event: 'token', id: '7', data: '{"n":1}' },
        { event: 'done', id: undefined, data: '' },
      ]);
      expect(await readAll(custom.res)).toBe('<<Hello>>\n<< world>>\n');
    },
  },
  {
    name: 'answers one JSON document or a stream as the request asks (stream toggle)',
    applies: (target) => target.toggle,
    async run({ start }) {
      const answer = (): string[] => ['Hello', ' wörld'];
      const app = await start([
        { method: 'post', path: '/chat', options: { json: true }, produce: answer },
        { method: 'get', path: '/chat', options: { json: true }, produce: answer },
      ]);
      const post = (body: unknown, headers: Record<string, string> = {}) =>
        rawRequest(`${app.url}/chat`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });

      const json = await post({ prompt: 'hi', stream: false });
      const document = '{"response":"Hello wörld"}';
      expect(json.res.statusCode).toBe(200);
      expect(json.res.headers['content-type']).toBe('application/json');
      expect(json.res.headers['content-length']).toBe(String(Buffer.byteLength(document)));
      expect(await readAll(json.res)).toBe(document);

      // The seed's client: `accept: application/json` while asking for a stream.
      const seed = await post({ prompt: 'hi', stream: 'True' }, { accept: 'application/json' });
      expectStreamHeaders(seed.res);
      expect(await readAll(seed.res)).toBe('data: Hello\n\ndata:  wörld\n\n');

      // axios's default Accept (application/json, text/plain, */*) does not flip it.
      const viaAxios = await axios.post<IncomingMessage>(
        `${app.url}/chat`,
        { prompt: 'hi' },
        { responseType: 'stream', headers: HOSTILE_HEADERS },
      );
      expect(viaAxios.headers['content-type']).toBe('text/event-stream');
      expect(await readAll(viaAxios.data)).toBe('data: Hello\n\ndata:  wörld\n\n');

      const query = await rawRequest(`${app.url}/chat?stream=0`);
      expect(query.res.statusCode).toBe(200);
      expect(query.res.headers['content-type']).toBe('application/json');
      expect(await readAll(query.res)).toBe(document);
    },
  },
  {
    name: 'reads a repeated `stream` query parameter as saying nothing (stream toggle)',
    async run({ start }) {
      const app = await start([
        { method: 'get', path: '/chat', options: { json: true }, produce: () => ['Hello'] },
      ]);
      for (const query of [
        'stream=false&stream=true',
        'stream=0&stream=0',
        'stream=true&stream=0',
      ]) {
        const { res } = await rawRequest(`${app.url}/chat?${query}`);
        expectStreamHeaders(res);
        expect(await readAll(res), query).toBe('data: Hello\n\n');
      }
      const once = await rawRequest(`${app.url}/chat?stream=false`);
      expect(once.res.headers['content-type']).toBe('application/json');
      expect(await readAll(once.res)).toBe('{"response":"Hello"}');
    },
  },
  {
    name: 'sends a malformed JSON body to the framework error path with status 400 (stream toggle)',
    applies: (target) => target.toggle,
    async run({ target, start }) {
      let produced = 0;
      const app = await start([
        {
          method: 'post',
          path: '/chat',
          options: { json: true },
          produce: () => (produced++, ['Hello']),
        },
      ]);
      const { res } = await rawRequest(`${app.url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"prompt": "hi", "stream": fal',
      });
      await readAll(res);
      expect(res.statusCode).toBe(target.errorStatus);
      expect(res.headers['x-error-path']).toBeDefined();
      expect(app.frameworkErrors).toMatchObject([{ status: 400 }]);
      expect(produced).toBe(0);
    },
  },
  {
    name: 'refuses a JSON body over 1 MiB with status 413 (stream toggle)',
    applies: (target) => target.toggle,
    async run({ target, start }) {
      let produced = 0;
      const app = await start([
        {
          method: 'post',
          path: '/chat',
          options: { json: true },
          produce: () => (produced++, ['Hello']),
        },
      ]);
      const body = JSON.stringify({ prompt: 'x'.repeat(1024 * 1024), stream: false });
      const { res } = await rawRequest(`${app.url}/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await readAll(res);
      expect(res.statusCode).toBe(target.errorStatus);
      expect(app.frameworkErrors).toMatchObject([{ status: 413 }]);
      expect(produced).toBe(0);
    },
  },
  {
    name: 'streams over HTTP/2 without hop-by-hop headers, one event at a time',
    applies: (target) => target.http2,
    async run({ start }) {
      const lockstep = new Lockstep();
      const app = await start([lockstepEndpoint(lockstep)], true);
      const streamErrors: unknown[] = [];
      app.server.on('sessionError', (error: unknown) => streamErrors.push(error));
      const { headers, stream, close } = await http2Request(app.url, '/lockstep');
      try {
        expect(headers[':status']).toBe(200);
        expect(headers['content-type']).toBe('text/event-stream');
        expect(headers['cache-control']).toBe('no-cache, no-transform');
        expect(headers).not.toHaveProperty('connection');
        for (const name of FORBIDDEN) expect(headers, name).not.toHaveProperty(name);
        const reader = ackingReader(lockstep, stream);
        await reader.ended;
        expectLockstepEvents(reader.events);
      } finally {
        close();
      }
      expect(streamErrors).toEqual([]);
    },
  },
];
