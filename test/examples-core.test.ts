/**
 * Runs the README quick starts and docs/formats.md's example against real servers: the OpenAI
 * quick starts talk to the demo's OpenAI-compatible emulator through the real `openai` SDK.
 */
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerFor, type Emulator, startEmulator } from '../demo/emulator.js';

let emulator: Emulator;
const servers: Server[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ tokenDelay: 0 });
  process.env.OPENAI_BASE_URL = emulator.baseURL;
  process.env.OPENAI_API_KEY = 'sk-test';
});

afterAll(async () => {
  for (const server of servers) server.close();
  await emulator.close();
});

function parse(text: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(text);
  return events;
}

/** A supertest body parser that keeps the body as text, whatever its content type. */
const asText: Parameters<request.Test['parse']>[0] = (res, done) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => (body += chunk));
  res.on('end', () => done(null, body));
};

function listenHono(app: Hono): Server {
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  servers.push(server);
  return server;
}

describe('README quick starts', () => {
  const prompt = 'Why do frames need a blank line?';

  async function chat(target: Server | ((...args: never[]) => unknown)): Promise<void> {
    const response = await request(target as Server)
      .post('/chat')
      .send({ prompt })
      .buffer(true)
      .parse(asText);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream');
    const events = parse(response.body as string);
    expect(events.at(-1)?.data).toBe('[DONE]');
    // OpenAI's first chunk carries the role and `content: ''`: no empty event for it.
    expect(events.filter((event) => event.data === '')).toEqual([]);
    expect(
      events
        .slice(0, -1)
        .map((event) => event.data)
        .join(''),
    ).toBe(answerFor(prompt).replace(/\r\n?/g, '\n'));
  }

  it('Express streams the OpenAI answer token by token, then [DONE]', async () => {
    const { app } = await import('../examples/quickstart-express.js');
    await chat(app);
  });

  it('Koa streams the OpenAI answer token by token, then [DONE]', async () => {
    const { app } = await import('../examples/quickstart-koa.js');
    await chat(app.callback());
  });

  it('Hono streams the OpenAI answer token by token, then [DONE]', async () => {
    const { app } = await import('../examples/quickstart-hono.js');
    await chat(listenHono(app));
  });
});

describe('README core tour', () => {
  it('formats frames as the comments say', async () => {
    const { frames } = await import('../examples/quickstart-core.js');
    expect(frames).toEqual([
      'data:  world\n\n',
      'data: line 1\ndata: line 2\n\n',
      'event: token\nid: 7\ndata: {"token":"é"}\n\n',
    ]);
  });

  it('answers a fetch Request with a streaming Response ending in a done event', async () => {
    const { GET } = await import('../examples/quickstart-core.js');
    const response = await GET(new Request('http://127.0.0.1/'));
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = parse(await response.text());
    expect(events.map((event) => [event.event, event.data])).toEqual([
      [undefined, 'Hello'],
      [undefined, ','],
      [undefined, ' world'],
      ['done', ''],
    ]);
  });
});

describe('docs/formats.md', () => {
  it('serves four endpoints in one app, each in its own format', async () => {
    const { app } = await import('../examples/formats.js');

    const sse = await request(app).get('/sse').buffer(true).parse(asText);
    expect(sse.headers['content-type']).toBe('text/event-stream');
    expect((sse.body as string).startsWith('retry: 5000\n')).toBe(true);
    const events = parse(sse.body as string);
    expect(events.map((event) => [event.event, event.id, event.data])).toEqual([
      ['token', '0', '{"token":"Hello"}'],
      ['token', '1', '{"token":","}'],
      ['token', '2', '{"token":" world"}'],
      ['token', '3', '{"token":"!\\nBye"}'],
      [undefined, undefined, '[DONE]'], // eventsource-parser reports only the event's own id
    ]);

    const raw = await request(app).get('/raw').buffer(true).parse(asText);
    expect(raw.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(raw.body).toBe('Hello, world!\nBye');

    const ndjson = await request(app).get('/ndjson').buffer(true).parse(asText);
    expect(ndjson.headers['content-type']).toBe('application/x-ndjson');
    expect(
      (ndjson.body as string)
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual(['Hello', ',', ' world', '!\nBye'].map((token) => ({ token })));

    const custom = await request(app).get('/custom').buffer(true).parse(asText);
    expect(parse(custom.body as string).map((event) => JSON.parse(event.data) as unknown)).toEqual(
      ['Hello', ',', ' world', '!\nBye'].map((token) => ({ token })),
    );
  });
});

describe('docs/getting-started.md', () => {
  it('streams the callback tokens, then the done event', async () => {
    const { app } = await import('../examples/getting-started.js');
    const response = await request(app)
      .post('/chat')
      .send({ prompt: 'SSE?' })
      .buffer(true)
      .parse(asText);
    expect(response.headers['content-type']).toBe('text/event-stream');
    expect(parse(response.body as string).map((event) => [event.event, event.data])).toEqual([
      [undefined, 'You'],
      [undefined, ' asked'],
      [undefined, ':'],
      [undefined, ' SSE?'],
      ['done', ''],
    ]);
  });

  it('answers one JSON document when the body says stream: false', async () => {
    const { app } = await import('../examples/getting-started.js');
    const response = await request(app).post('/chat').send({ prompt: 'SSE?', stream: false });
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(response.text)));
    expect(response.body).toEqual({ response: 'You asked: SSE?' });
  });

  it('sends a failure before the first token to the Express error handler', async () => {
    const { app } = await import('../examples/getting-started.js');
    const response = await request(app).post('/chat').send({ prompt: '' });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ error: 'empty prompt' });
  });
});
