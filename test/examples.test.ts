/**
 * Runs every recipe under examples/ as a user would (its own start(port)), and checks what real
 * clients see: the `eventsource` EventSource for GET endpoints, fetch with eventsource-parser for
 * POST ones, and the openai SDK for the OpenAI-compatible endpoint.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSource } from 'eventsource';
import OpenAI from 'openai';
import { collectText, openAIText } from 'ssekit';
import { describe, expect, it } from 'vitest';
import * as agent from '../examples/agent.js';
import * as anthropic from '../examples/anthropic.js';
import { startFakeLlm, tokenize } from '../examples/fake-llm.js';
import * as langchain from '../examples/langchain.js';
import * as openai from '../examples/openai.js';
import * as relay from '../examples/relay.js';
import { allEvents, closeAfterEach, closeServer, events } from './integrations/helpers.js';

async function run(start: Promise<Server>): Promise<string> {
  const server = await start;
  closeAfterEach(() => closeServer(server));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function fake(options: Parameters<typeof startFakeLlm>[0] = {}) {
  const llm = await startFakeLlm(options);
  closeAfterEach(() => llm.close());
  return llm;
}

/** Reads `url` with EventSource until `event: done`; rejects if the stream ends without it. */
function listen(url: string, names: string[] = []): Promise<Array<[string, string]>> {
  return new Promise((resolve, reject) => {
    const source = new EventSource(url);
    const received: Array<[string, string]> = [];
    for (const name of ['message', ...names]) {
      source.addEventListener(name, (event) => received.push([name, String(event.data)]));
    }
    source.addEventListener('done', () => {
      source.close();
      resolve(received);
    });
    source.addEventListener('error', () => {
      source.close();
      reject(new Error(`the stream ended without a done event after ${received.length} events`));
    });
  });
}

const text = (received: Array<[string, string]>) =>
  received
    .filter(([name]) => name === 'message')
    .map(([, data]) => data)
    .join('');

const post = (url: string, body: unknown, signal?: AbortSignal) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });

describe('examples/openai.ts', () => {
  it('streams chat tokens to a fetch client, then event: done', async () => {
    const url = await run(openai.start(0));
    const received = await allEvents(await post(`${url}/chat`, { prompt: 'Hi' }));
    expect(received.filter((e) => e.event === undefined).map((e) => e.data)).toEqual(
      tokenize('Hello! You said: Hi'),
    );
    expect(received.at(-1)?.event).toBe('done');
  });

  it('answers one JSON document when the body says "stream": false', async () => {
    const url = await run(openai.start(0));
    const response = await post(`${url}/chat`, { prompt: 'Hi', stream: false });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ response: 'Hello! You said: Hi' });
  });

  it('streams Responses API tokens to an EventSource', async () => {
    const url = await run(openai.start(0));
    expect(text(await listen(`${url}/responses?prompt=Yo`))).toBe('Hello! You said: Yo');
  });

  it('is an OpenAI-compatible upstream for the openai SDK itself', async () => {
    const url = await run(openai.start(0));
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'relay' }],
      stream: true,
    });
    expect(await collectText(stream, { map: openAIText })).toBe('Hello! You said: relay');
  });

  it('aborts the request to the provider when the client goes away', async () => {
    const llm = await fake({ holdAfter: 1 });
    const url = await run(openai.start(0, `${llm.url}/v1`));
    const client = new AbortController();
    const reader = events(await post(`${url}/chat`, { prompt: 'Hi' }, client.signal));
    expect((await reader.read()).value?.data).toBe('Hello!');
    client.abort();
    expect(await llm.requests[0]?.ended).toBe('aborted');
  });
});

describe('examples/anthropic.ts', () => {
  it('streams the text deltas of a Messages stream to an EventSource', async () => {
    const url = await run(anthropic.start(0));
    expect(text(await listen(`${url}/chat?prompt=Sing`))).toBe('Hello! You said: Sing');
  });
});

describe('examples/langchain.ts', () => {
  it("streams the chat model's tokens one by one to an EventSource", async () => {
    const url = await run(langchain.start(0));
    const received = await listen(`${url}/chat?prompt=What%20is%20SSE%3F`);
    expect(received.length).toBeGreaterThan(10);
    expect(text(received)).toBe('Server-Sent Events stream text, one token at a time.');
  });

  it('sends the tool step as action and observation events before the tokens', async () => {
    const url = await run(langchain.start(0));
    const received = await listen(`${url}/divide?a=84&b=2`, ['action', 'observation']);
    const named = received.filter(([name]) => name !== 'message');
    expect(named.map(([name, data]) => [name, JSON.parse(data) as unknown])).toEqual([
      ['action', { tool: 'divide', input: '{"a":84,"b":2}' }],
      ['observation', { tool: 'divide', output: '42' }],
    ]);
    expect(received[2]?.[0]).toBe('message');
  });
});

describe('examples/agent.ts', () => {
  it('streams the loop as thought, action, observation, thought, final', async () => {
    const url = await run(agent.start(0));
    const received = await listen(`${url}/agent?question=What%20is%206%20times%207%3F`, [
      'thought',
      'action',
      'observation',
      'final',
    ]);
    expect(received.map(([name, data]) => [name, JSON.parse(data) as unknown])).toEqual([
      ['thought', { text: 'I should multiply 6 by 7 with the calculator.' }],
      ['action', { tool: 'calculator', input: '6*7' }],
      ['observation', { tool: 'calculator', output: '42' }],
      ['thought', { text: 'I now know the answer.' }],
      ['final', { output: '6 × 7 = 42' }],
    ]);
  });

  it('stops at MAX_ITERATIONS with the default final answer when the model never concludes', async () => {
    const stubborn: agent.Model = () =>
      Promise.resolve({ thought: 'again', action: { tool: 'calculator', input: '1*1' } });
    const url = await run(agent.start(0, stubborn));
    const received = await listen(`${url}/agent?question=loop`, ['thought', 'final']);
    expect(received.filter(([name]) => name === 'thought')).toHaveLength(5);
    expect(received.at(-1)).toEqual(['final', '{"output":"I could not find an answer."}']);
  });
});

describe('examples/relay.ts', () => {
  it("relays the provider's chunks as they are, which its client decodes up to [DONE]", async () => {
    const url = await run(relay.start(0));
    const raw = await allEvents(await fetch(`${url}/relay?prompt=Hi`));
    expect(raw.at(-1)?.data).toBe('[DONE]');
    const chunks = await relay.readChunks(`${url}/relay?prompt=Hi`);
    expect(chunks).toHaveLength(raw.length - 1);
    expect(chunks.every((chunk) => Array.isArray(chunk.choices))).toBe(true);
    expect(chunks.map((chunk) => openAIText(chunk) ?? '').join('')).toBe('Hello! You said: Hi');
  });

  it('relays tokens to an EventSource', async () => {
    const url = await run(relay.start(0));
    expect(text(await listen(`${url}/tokens?prompt=Hey`))).toBe('Hello! You said: Hey');
  });

  it('aborts the upstream request when its client goes away', async () => {
    const llm = await fake({ holdAfter: 2 });
    const url = await run(relay.start(0, llm.url));
    const client = new AbortController();
    const reader = events(await fetch(`${url}/tokens?prompt=Hi`, { signal: client.signal }));
    expect((await reader.read()).value?.data).toBe('Hello!');
    client.abort();
    expect(await llm.requests[0]?.ended).toBe('aborted');
  });
});

describe('examples/fastify.ts', () => {
  async function startFastify(options?: {
    logger: { stream: { write(line: string): void } };
  }): Promise<string> {
    const { start } = await import('../examples/fastify.js');
    const app = await start(0, options);
    closeAfterEach(() => app.close());
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  }

  it('streams the tokens of POST /chat, then event: done, with the hook header and uncompressed', async () => {
    const url = await startFastify();
    const response = await post(`${url}/chat`, { prompt: 'Hi' });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('x-request-id')).toMatch(/^req-/);
    const received = await allEvents(response);
    expect(received.map((event) => [event.event, event.data])).toEqual([
      [undefined, 'You'],
      [undefined, ' asked'],
      [undefined, ':'],
      [undefined, ' Hi'],
      ['done', ''],
    ]);
  });

  it('answers one JSON document when the body says "stream": false', async () => {
    const url = await startFastify();
    const response = await post(`${url}/chat`, { prompt: 'Hi', stream: false });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ response: 'You asked: Hi' });
  });

  it('streams GET /events (the inline form) to an EventSource', async () => {
    const url = await startFastify();
    expect(text(await listen(`${url}/events?prompt=Yo`))).toBe('You asked: Yo');
  });

  it("answers a request the model refuses with the error handler's 400, not a stream", async () => {
    const url = await startFastify();
    for (const response of [
      await post(`${url}/chat`, { prompt: '' }),
      await fetch(`${url}/events`),
    ]) {
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: '`prompt` is empty' });
    }
  });

  it("shows the request in Fastify's log, completed once the stream has ended", async () => {
    const lines: { msg?: string; reqId?: string; res?: { statusCode?: number } }[] = [];
    const stream = { write: (line: string) => void lines.push(JSON.parse(line) as never) };
    const url = await startFastify({ logger: { stream } });
    expect(text(await listen(`${url}/events?prompt=log`))).toBe('You asked: log');
    const messages = (): (string | undefined)[] => lines.map((line) => line.msg);
    for (let i = 0; i < 100 && !messages().includes('request completed'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const [incoming, streaming, completed] = [
      'incoming request',
      'streaming an answer',
      'request completed',
    ].map((msg) => lines.find((line) => line.msg === msg));
    expect(streaming?.reqId).toBe(incoming?.reqId);
    expect(completed).toMatchObject({ reqId: incoming?.reqId, res: { statusCode: 200 } });
  });
});
