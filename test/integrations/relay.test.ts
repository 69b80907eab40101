import type { ServerResponse } from 'node:http';
import {
  isSseError,
  type OpenAIChatChunk,
  openAIText,
  readSse,
  readSseData,
  type SseError,
  type SseMessage,
} from 'ssekit';
import { sse } from 'ssekit/node';
import { describe, expect, it } from 'vitest';
import { startFakeLlm, tokenize } from '../../examples/fake-llm.js';
import { aborted, allEvents, closeAfterEach, events, serve } from './helpers.js';

/** An upstream that writes `chunks` by hand (not with ssekit's encoder), then ends. */
function handWritten(chunks: Array<string | Uint8Array>, type = 'text/event-stream') {
  return (_req: unknown, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': type });
    const write = (i: number): void => {
      if (i === chunks.length) return void res.end();
      res.write(chunks[i], () => write(i + 1));
    };
    write(0);
  };
}

const plain = (message: SseMessage) => ({
  data: message.data,
  event: message.event,
  id: message.id,
});

async function fakeUpstream(options: Parameters<typeof startFakeLlm>[0] = {}) {
  const fake = await startFakeLlm(options);
  closeAfterEach(() => fake.close());
  const post = (path: string, signal?: AbortSignal) =>
    fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'relay' }] }),
      ...(signal ? { signal } : {}),
    });
  return { fake, post };
}

describe('readSse', () => {
  it('parses fields, comments, CR/LF/CRLF line ends and multi-line data as a browser does', async () => {
    const url = await serve(
      handWritten([
        '\uFEFF: a comment\r\n\r\n',
        'event: token\rid: 1\rdata:  world\r\r',
        'data: a\ndata:\ndata: b\n\n',
        'id: 2\r\nevent: done\r\ndata\r\n\r\n',
        'data: cut off without its blank line',
      ]),
    );
    const messages: SseMessage[] = [];
    for await (const message of readSse(await fetch(url))) messages.push(message);
    expect(messages.map(plain)).toEqual([
      { data: ' world', event: 'token', id: '1' },
      { data: 'a\n\nb', event: undefined, id: undefined },
      { data: '', event: 'done', id: '2' },
    ]);
  });

  it('reassembles events and UTF-8 characters split across arbitrary chunk boundaries', async () => {
    const text = 'event: é\ndata: 🙂 naïve\ndata: 世界\n\ndata: [DONE]\n\n';
    const bytes = new TextEncoder().encode(text);
    const chunks = Array.from(bytes, (byte) => new Uint8Array([byte]));
    const url = await serve(handWritten(chunks));
    const messages: SseMessage[] = [];
    for await (const message of readSse(await fetch(url))) messages.push(message);
    expect(messages.map(plain)).toEqual([
      { data: '🙂 naïve\n世界', event: 'é', id: undefined },
      { data: '[DONE]', event: undefined, id: undefined },
    ]);
  });

  it('relays upstream events unchanged, names and ids included, when returned from a handler', async () => {
    const upstream = await serve(
      sse(async (writer) => {
        await writer.send({ n: 1 }, { event: 'chunk', id: 'a' });
        await writer.send('two\nlines');
        await writer.send(' leading space', { id: '' });
      }),
    );
    const relay = await serve(
      sse(async (writer) => readSse(await fetch(upstream, { signal: writer.signal }))),
    );
    expect(await allEvents(await fetch(relay))).toEqual(await allEvents(await fetch(upstream)));
  });

  it('relays transformed with the endpoint map: OpenAI chunks in, tokens out', async () => {
    const { post } = await fakeUpstream();
    const relay = await serve(
      sse(async (writer) => readSse(await post('/v1/chat/completions', writer.signal)), {
        map: (message: SseMessage) =>
          message.data === '[DONE]'
            ? undefined
            : openAIText(JSON.parse(message.data) as OpenAIChatChunk),
      }),
    );
    const received = await allEvents(await fetch(relay));
    expect(received.map((event) => event.data)).toEqual(tokenize('Hello! You said: relay'));
  });

  it('throws UPSTREAM_ERROR at once for an error status, so the endpoint answers 500', async () => {
    const upstream = await serve((_req, res) => res.writeHead(503).end('overloaded'));
    let error: unknown;
    try {
      readSse(await fetch(upstream));
    } catch (thrown) {
      error = thrown;
    }
    expect(isSseError(error) && error.code).toBe('UPSTREAM_ERROR');
    expect((error as Error).message).toContain('503');

    const relay = await serve(sse(async () => readSse(await fetch(upstream))));
    const response = await fetch(relay);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).not.toBe('text/event-stream');
  });

  it('throws UPSTREAM_ERROR at once for a body that is not text/event-stream', async () => {
    const upstream = await serve(handWritten(['{"error":"no"}'], 'application/json'));
    let error: unknown;
    try {
      readSse(await fetch(upstream));
    } catch (thrown) {
      error = thrown;
    }
    expect(isSseError(error) && error.code).toBe('UPSTREAM_ERROR');
  });

  it('accepts text/event-stream with parameters and in any case', async () => {
    const upstream = await serve(handWritten(['data: x\n\n'], 'Text/Event-Stream; charset=utf-8'));
    const messages: SseMessage[] = [];
    for await (const message of readSse(await fetch(upstream))) messages.push(message);
    expect(messages.map((message) => message.data)).toEqual(['x']);
  });

  it("cancels the upstream request when the relay's client goes away (signal given to fetch)", async () => {
    const { fake, post } = await fakeUpstream({ holdAfter: 1 });
    const relay = await serve(
      sse(async (writer) => readSse(await post('/v1/chat/completions', writer.signal))),
    );
    const client = new AbortController();
    const reader = events(await fetch(relay, { signal: client.signal }));
    await reader.read(); // the role chunk
    await reader.read(); // the first token
    client.abort();
    expect(await fake.requests[0]?.ended).toBe('aborted');
  });

  it("cancels the upstream body when the relay's client goes away, even without the signal", async () => {
    const { fake, post } = await fakeUpstream({ holdAfter: 1 });
    const relay = await serve(sse(async () => readSse(await post('/v1/chat/completions'))));
    const client = new AbortController();
    const reader = events(await fetch(relay, { signal: client.signal }));
    await reader.read();
    await reader.read();
    client.abort();
    expect(await fake.requests[0]?.ended).toBe('aborted');
  });

  it('cancels the upstream body when a consumer leaves the loop early', async () => {
    const { fake, post } = await fakeUpstream({ holdAfter: 1 });
    let first: string | undefined;
    for await (const message of readSse(await post('/v1/chat/completions'))) {
      first = message.data;
      break;
    }
    expect(JSON.parse(first ?? '')).toMatchObject({ object: 'chat.completion.chunk' });
    expect(await fake.requests[0]?.ended).toBe('aborted');
  });
});

describe('readSseData', () => {
  it('yields the data of each event as JSON and stops at [DONE], like the Tesla SSE middleware', async () => {
    const { fake, post } = await fakeUpstream();
    const chunks: OpenAIChatChunk[] = [];
    for await (const chunk of readSseData<OpenAIChatChunk>(await post('/v1/chat/completions'))) {
      chunks.push(chunk);
    }
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk' });
    expect(chunks.map((chunk) => openAIText(chunk) ?? '').join('')).toBe('Hello! You said: relay');
    expect(chunks.at(-1)).toMatchObject({ choices: [{ delta: {}, finish_reason: 'stop' }] });
    expect(await fake.requests[0]?.ended).toBe('completed');
  });

  it('stops at [DONE] and releases an upstream that keeps the connection open', async () => {
    let closed!: Promise<void>;
    const upstream = await serve((_req, res) => {
      closed = new Promise((resolve) => res.once('close', resolve));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\ndata: [DONE]\n\n'); // …and never ends
    });
    const data: unknown[] = [];
    for await (const item of readSseData(await fetch(upstream))) data.push(item);
    expect(data).toEqual([{ n: 1 }]);
    await closed; // resolves only because the body was cancelled
  });

  it('yields data strings with json: false and reads past [DONE] with done: false', async () => {
    const upstream = await serve(handWritten(['data: a\n\ndata: [DONE]\n\ndata: b\n\n']));
    const data: unknown[] = [];
    for await (const item of readSseData(await fetch(upstream), { json: false, done: false })) {
      data.push(item);
    }
    expect(data).toEqual(['a', '[DONE]', 'b']);
  });

  it('rejects with UPSTREAM_ERROR when the upstream ends without [DONE], after the data it had', async () => {
    const upstream = await serve(handWritten(['data: {"n":1}\n\n'])); // cut short: no [DONE]
    const data: unknown[] = [];
    const error: unknown = await (async () => {
      for await (const item of readSseData(await fetch(upstream))) data.push(item);
    })().catch((reason: unknown) => reason);
    expect(data).toEqual([{ n: 1 }]);
    expect(isSseError(error) && error.code).toBe('UPSTREAM_ERROR');
  });

  it("raises ssekit's own error frame as a typed error carrying its data, never as a chunk", async () => {
    const upstream = await serve(
      sse(async (writer) => {
        await writer.send({ n: 1 });
        throw new Error('the model fell over');
      }),
    );
    const data: unknown[] = [];
    const error: unknown = await (async () => {
      for await (const item of readSseData(await fetch(upstream))) data.push(item);
    })().catch((reason: unknown) => reason);
    expect(data).toEqual([{ n: 1 }]);
    expect(isSseError(error) && [error.code, error.field]).toEqual(['UPSTREAM_ERROR', 'event']);
    expect((error as SseError).data).toEqual({ error: 'Internal Server Error' });
  });

  it('keeps the text of an error frame that is not JSON, and with json: false', async () => {
    const upstream = await serve(
      handWritten(['data: 1\n\nevent: error\ndata: quota exceeded\n\n']),
    );
    for (const json of [true, false]) {
      const error: unknown = await (async () => {
        for await (const item of readSseData(await fetch(upstream), { json })) void item;
      })().catch((reason: unknown) => reason);
      expect((error as SseError).data).toBe('quota exceeded');
    }
  });

  it('rejects with UPSTREAM_ERROR for data that is not JSON', async () => {
    const upstream = await serve(handWritten(['data: {"ok":1}\n\ndata: oops\n\n']));
    const data: unknown[] = [];
    let error: unknown;
    try {
      for await (const item of readSseData(await fetch(upstream))) data.push(item);
    } catch (thrown) {
      error = thrown;
    }
    expect(data).toEqual([{ ok: 1 }]);
    expect(isSseError(error) && error.code).toBe('UPSTREAM_ERROR');
    expect((error as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses bad options with INVALID_OPTION naming the option', async () => {
    const upstream = await serve(handWritten(['data: 1\n\n']));
    const response = await fetch(upstream);
    for (const [options, field] of [
      [{ done: 1 }, 'done'],
      [{ json: 'yes' }, 'json'],
    ] as const) {
      let error: unknown;
      try {
        readSseData(response, options as never);
      } catch (thrown) {
        error = thrown;
      }
      expect(isSseError(error) && [error.code, error.field]).toEqual(['INVALID_OPTION', field]);
    }
    await response.body?.cancel();
  });
});

describe('relay aborts, observed upstream', () => {
  it("aborts the upstream handler's signal when the relay's client disconnects", async () => {
    let upstreamSignal!: AbortSignal;
    const upstream = await serve(
      sse(async (writer) => {
        upstreamSignal = writer.signal;
        await writer.send('first');
        await aborted(writer.signal);
      }),
    );
    const relay = await serve(
      sse(async (writer) => readSse(await fetch(upstream, { signal: writer.signal }))),
    );
    const client = new AbortController();
    const reader = events(await fetch(relay, { signal: client.signal }));
    expect((await reader.read()).value?.data).toBe('first');
    client.abort();
    const reason = await aborted(upstreamSignal);
    expect(isSseError(reason) && reason.code).toBe('CLIENT_GONE');
  });
});
