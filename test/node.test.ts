/* eslint-disable @typescript-eslint/require-await -- async generators stand in for SDK streams */
import {
  createServer,
  get,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import {
  connect,
  createServer as createHttp2Server,
  type ClientHttp2Session,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isSseError, type SseWriter } from '../src/index.js';
import { sendSse, sse } from '../src/node.js';

const servers: (Server | Http2Server)[] = [];
const sessions: ClientHttp2Session[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) session.destroy();
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          if ('closeAllConnections' in server) server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function listen(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function request(port: number, path = '/'): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, agent: false }, resolve).on('error', reject);
  });
}

async function body(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

/** A promise with its resolve function. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Lets pending I/O and promise callbacks run (event-loop turns, no clock). */
async function settle(turns = 5): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('HTTP/1.1', () => {
  it('sends exactly the streaming headers, and none that make a client wait for the end', async () => {
    const port = await listen((_req, res) => {
      // What an earlier middleware or framework default might have set.
      res.setHeader('ETag', 'W/"1"');
      res.setHeader('Last-Modified', new Date(0).toUTCString());
      res.setHeader('Content-Length', '10');
      void sendSse(res, ['Hello', ' world'], { done: { data: '[DONE]' } });
    });
    const res = await request(port);
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.headers).sort()).toEqual([
      'cache-control',
      'connection',
      'content-type',
      'date',
      'transfer-encoding',
      'x-accel-buffering',
    ]);
    // Node's own HTTP/1.1 framing: ssekit sets no Transfer-Encoding, and removes none.
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.headers['cache-control']).toBe('no-cache, no-transform');
    expect(res.headers['x-accel-buffering']).toBe('no');
    expect(res.headers.connection).toBe('keep-alive');
    expect(await body(res)).toBe('data: Hello\n\ndata:  world\n\ndata: [DONE]\n\n');
  });

  it('lets the client tell a stream cut by the server from a finished one', async () => {
    const port = await listen(
      sse(async (writer, _req, res) => {
        await writer.send('partial');
        res.socket?.destroy(); // the server dies mid-answer
      }),
    );
    const cut = await request(port);
    await body(cut).catch(() => undefined);
    expect(cut.complete).toBe(false);

    const whole = await request(await listen(sse(() => ['whole'])));
    await body(whole);
    expect(whole.complete).toBe(true);
  });

  it('sends the headers before the first token when the handler returns a source', async () => {
    const token = deferred();
    const port = await listen(
      sse(() =>
        (async function* () {
          await token.promise;
          yield 'late';
        })(),
      ),
    );
    const res = await request(port);
    expect(res.headers['content-type']).toBe('text/event-stream');
    token.resolve();
    expect(await body(res)).toBe('data: late\n\n');
  });

  it('streams each frame as it is sent, without waiting for the end', async () => {
    const next = deferred();
    const port = await listen(
      sse(async (writer) => {
        await writer.send('first');
        await next.promise;
        await writer.send('second');
      }),
    );
    const res = await request(port);
    res.setEncoding('utf8');
    const chunks = res[Symbol.asyncIterator]();
    expect((await chunks.next()).value).toBe('data: first\n\n');
    next.resolve();
    expect((await chunks.next()).value).toBe('data: second\n\n');
  });

  it('aborts the producer with CLIENT_GONE when the client disconnects, and removes its listeners', async () => {
    const aborted = deferred<unknown>();
    const returned = vi.fn(() => Promise.resolve({ done: true as const, value: undefined }));
    const serverRes = deferred<{ res: ServerResponse; closeListeners: number }>();
    const port = await listen((_req, res) => {
      serverRes.resolve({ res, closeListeners: res.listenerCount('close') });
      void sendSse(res, (writer: SseWriter) => {
        writer.signal.addEventListener('abort', () => aborted.resolve(writer.signal.reason));
        void writer.send('a');
        return {
          [Symbol.asyncIterator]: () => ({
            next: () => new Promise<IteratorResult<string>>(() => {}),
            return: returned,
          }),
        };
      });
    });
    const res = await request(port);
    const first = await new Promise<unknown>((resolve) => res.once('data', resolve));
    expect(String(first)).toBe('data: a\n\n');
    res.destroy();
    const reason = await aborted.promise;
    expect(isSseError(reason) && reason.code).toBe('CLIENT_GONE');
    expect(returned).toHaveBeenCalledOnce();
    const { res: response, closeListeners } = await serverRes.promise;
    expect(response.listenerCount('drain')).toBe(0);
    expect(response.listenerCount('close')).toBe(closeListeners);
  });

  it('pauses the producer while the client is not reading, then delivers everything', async () => {
    const chunk = 'x'.repeat(64 * 1024);
    const total = 512; // 32 MiB: far more than the socket buffers hold
    let produced = 0;
    let resumedWhileFull = 0;
    const serverRes = deferred<ServerResponse>();
    const port = await listen((_req, res) => {
      serverRes.resolve(res);
      void sendSse(
        res,
        (async function* () {
          while (produced < total) {
            // The engine only asks for the next chunk once the response can take it.
            if (res.writableNeedDrain) resumedWhileFull++;
            produced++;
            yield chunk;
          }
        })(),
        { heartbeat: false },
      );
    });
    const res = await request(port);
    res.pause();
    const response = await serverRes.promise;
    for (let turn = 0; turn < 10_000 && !response.writableNeedDrain; turn++) await settle(1);
    expect(response.writableNeedDrain).toBe(true);
    const stalledAt = produced;
    await settle(20);
    expect(produced).toBe(stalledAt);
    expect(produced).toBeLessThan(total);

    let bytes = 0;
    res.on('data', (data: Buffer) => (bytes += data.length));
    res.resume();
    await new Promise((resolve) => res.on('end', resolve));
    expect(produced).toBe(total);
    expect(resumedWhileFull).toBe(0);
    expect(bytes).toBe(total * `data: ${chunk}\n\n`.length);
  });

  it('answers 500 from sse() when the handler fails before its first frame', async () => {
    const onError = vi.fn();
    const boom = new Error('no API key');
    const port = await listen(
      sse(
        async () => {
          await Promise.resolve();
          throw boom;
        },
        { onError },
      ),
    );
    const res = await request(port);
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toBeUndefined();
    expect(await body(res)).toBe('');
    expect(onError).toHaveBeenCalledExactlyOnceWith(boom);
  });

  it('does not report a client that leaves before the first frame to onError', async () => {
    const onError = vi.fn();
    const started = deferred();
    const aborted = deferred();
    const port = await listen(
      sse(
        (writer) =>
          new Promise<void>(() => {
            writer.signal.addEventListener('abort', () => aborted.resolve());
            started.resolve();
          }),
        { onError, heartbeat: false },
      ),
    );
    const req = get({ host: '127.0.0.1', port, agent: false });
    req.on('error', () => {});
    await started.promise; // nothing is committed: the handler has not sent anything
    req.destroy();
    await aborted.promise;
    await settle();
    expect(onError).not.toHaveBeenCalled();
  });

  it('ends with the error event when the handler fails mid-stream', async () => {
    const onError = vi.fn();
    const port = await listen(
      sse(
        async (writer) => {
          await writer.send('a');
          throw new Error('secret detail');
        },
        { onError },
      ),
    );
    const res = await request(port);
    expect(res.statusCode).toBe(200);
    expect(await body(res)).toBe(
      'data: a\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
    expect(onError).toHaveBeenCalledOnce();
  });

  it('hands the request and response to the sse() handler', async () => {
    const port = await listen(
      sse((writer, req, res) => {
        void writer.send({ url: req.url, same: res.req === req });
      }),
    );
    expect(await body(await request(port, '/chat?q=1'))).toBe(
      'data: {"url":"/chat?q=1","same":true}\n\n',
    );
  });

  it('rejects sendSse() with the producer’s error before commit, so the caller can answer', async () => {
    const boom = new Error('bad prompt');
    const port = await listen((_req, res) => {
      sendSse(res, () => {
        throw boom;
      }).catch((error: unknown) => {
        res.writeHead(error === boom ? 422 : 500).end('refused');
      });
    });
    const res = await request(port);
    expect(res.statusCode).toBe(422);
    expect(await body(res)).toBe('refused');
  });
});

describe('the stream toggle on plain node:http', () => {
  it('answers one JSON document for ?stream=false and a stream otherwise', async () => {
    const port = await listen(sse(() => ['Hello', ' wörld'], { json: true }));
    const document = await request(port, '/chat?stream=false');
    expect(document.headers['content-type']).toBe('application/json');
    const text = await body(document);
    expect(document.headers['content-length']).toBe(String(Buffer.byteLength(text)));
    expect(JSON.parse(text)).toEqual({ response: 'Hello wörld' });

    const stream = await request(port, '/chat');
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(await body(stream)).toBe('data: Hello\n\ndata:  wörld\n\n');
  });

  it('reads a body that a parser left on req.body', async () => {
    const endpoint = sse(() => ['Hi'], { json: true });
    const port = await listen((req, res) => {
      Object.assign(req, { body: { stream: 'False' } });
      endpoint(req, res);
    });
    const answer = await request(port, '/');
    expect(JSON.parse(await body(answer))).toEqual({ response: 'Hi' });
  });
});

describe('HTTP/2', () => {
  it('aborts at once when the client reset its stream while an async middleware ran', async () => {
    const entered = deferred();
    const release = deferred();
    const aborted = deferred();
    let pulled = 0;
    const server = createHttp2Server((_req, res) => {
      entered.resolve();
      void release.promise.then(() =>
        sendSse(res, (writer: SseWriter) => {
          writer.signal.addEventListener('abort', () => aborted.resolve());
          return (async function* () {
            for (;;) {
              pulled++;
              yield 'token';
            }
          })();
        }).catch((error: unknown) => expect(isSseError(error) && error.code).toBe('CLIENT_GONE')),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const session = connect(`http://127.0.0.1:${port}`);
    sessions.push(session);
    const stream = session.request({ ':path': '/' });
    stream.on('error', () => {}); // reset on purpose
    await entered.promise;
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.close();
    await closed;
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server sees the RST_STREAM
    release.resolve();
    await aborted.promise;
    expect(pulled).toBe(0);
  });

  it('streams without a Connection header', async () => {
    const server = createHttp2Server((req: Http2ServerRequest, res: Http2ServerResponse) => {
      void sendSse(res, ['Hello', ' world'], { done: { data: '[DONE]' } });
      void req;
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const session = connect(`http://127.0.0.1:${port}`);
    sessions.push(session);
    const stream = session.request({ ':path': '/' });
    const headers = await new Promise<Record<string, unknown>>((resolve) =>
      stream.once('response', resolve),
    );
    expect(headers[':status']).toBe(200);
    expect(headers['content-type']).toBe('text/event-stream');
    expect(headers['cache-control']).toBe('no-cache, no-transform');
    expect(headers.connection).toBeUndefined();
    expect(headers['content-length']).toBeUndefined();
    stream.setEncoding('utf8');
    let text = '';
    for await (const chunk of stream) text += chunk as string;
    expect(text).toBe('data: Hello\n\ndata:  world\n\ndata: [DONE]\n\n');
  });

  it('sends the headers before the first token', async () => {
    const token = deferred();
    const server = createHttp2Server((_req, res) => {
      void sendSse(
        res,
        (async function* () {
          await token.promise;
          yield 'late';
        })(),
      );
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const session = connect(`http://127.0.0.1:${port}`);
    sessions.push(session);
    const stream = session.request({ ':path': '/' });
    const headers = await new Promise<Record<string, unknown>>((resolve) =>
      stream.once('response', resolve),
    );
    expect(headers[':status']).toBe(200);
    token.resolve();
    stream.setEncoding('utf8');
    let text = '';
    for await (const chunk of stream) text += chunk as string;
    expect(text).toBe('data: late\n\n');
  });
});
