/**
 * Every demo app (Express, Koa, Hono) serves the same endpoints with the same answers, and a
 * client that leaves stops the generation upstream.
 */
import { once } from 'node:events';
import { type OpenAIChatChunk, openAIText, readSseData } from 'ssekit';
import { afterEach, describe, expect, it } from 'vitest';
import { answerFor, searchDocs, tokenize } from '../../demo/emulator.js';
import { DEFAULT_PROMPT } from '../../demo/endpoints.js';
import { frameworks, parseSse, postJson, type Stack, startStack } from './helpers.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const prompt = 'How do tokens reach the page?';
const answer = answerFor(prompt);

describe.each(frameworks)('%s demo app', (framework) => {
  it('serves the page and its script', async () => {
    stack = await startStack(framework);
    const html = await fetch(`${stack.demo.url}/`);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await html.text()).toContain('<script type="module" src="/app.js">');
    const script = await fetch(`${stack.demo.url}/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('GET /api/chat streams each token as an SSE event, then a done event', async () => {
    stack = await startStack(framework);
    const response = await fetch(`${stack.demo.url}/api/chat?prompt=${encodeURIComponent(prompt)}`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    const events = parseSse(await response.text());
    const tokens = events.filter((e) => e.event === undefined).map((e) => e.data);
    expect(tokens).toEqual(tokenize(answer));
    expect(events.at(-1)).toMatchObject({ event: 'done', data: '' });
  });

  it('POST /api/chat reads the prompt from the JSON body', async () => {
    stack = await startStack(framework);
    const response = await postJson(`${stack.demo.url}/api/chat`, { prompt });
    const events = parseSse(await response.text());
    expect(
      events
        .filter((e) => e.event === undefined)
        .map((e) => e.data)
        .join(''),
    ).toBe(answer);
  });

  it('uses the default prompt when none is given', async () => {
    stack = await startStack(framework);
    const events = parseSse(await (await fetch(`${stack.demo.url}/api/chat`)).text());
    expect(
      events
        .filter((e) => e.event === undefined)
        .map((e) => e.data)
        .join(''),
    ).toBe(answerFor(DEFAULT_PROMPT));
  });

  it('/api/ask streams by default and answers { response } JSON when stream is false', async () => {
    stack = await startStack(framework);
    const streamed = await postJson(`${stack.demo.url}/api/ask`, { prompt });
    expect(streamed.headers.get('content-type')).toBe('text/event-stream');
    await streamed.text();
    const json = await postJson(`${stack.demo.url}/api/ask`, { prompt, stream: false });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json.json()).toEqual({ response: answer });
    const viaQuery = await fetch(
      `${stack.demo.url}/api/ask?stream=false&prompt=${encodeURIComponent(prompt)}`,
    );
    expect(await viaQuery.json()).toEqual({ response: answer });
    // seed 000 sends Python's str(False)
    const pythonic = await postJson(`${stack.demo.url}/api/ask`, { prompt, stream: 'False' });
    expect(await pythonic.json()).toEqual({ response: answer });
  });

  it('/api/raw streams the bare tokens as text/plain', async () => {
    stack = await startStack(framework);
    const response = await fetch(`${stack.demo.url}/api/raw?prompt=${encodeURIComponent(prompt)}`);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe(answer);
  });

  it('/api/ndjson streams one {"token"} line per token', async () => {
    stack = await startStack(framework);
    const response = await postJson(`${stack.demo.url}/api/ndjson`, { prompt });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await response.text()).split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => (JSON.parse(line) as { token: string }).token)).toEqual(
      tokenize(answer),
    );
  });

  it('/api/agent streams thought, action, observation, tokens and final, then done', async () => {
    stack = await startStack(framework);
    const response = await fetch(
      `${stack.demo.url}/api/agent?prompt=${encodeURIComponent(prompt)}`,
    );
    const events = parseSse(await response.text());
    const names = events.map((e) => e.event);
    expect(names.slice(0, 3)).toEqual(['thought', 'action', 'observation']);
    expect(names.slice(-2)).toEqual(['final', 'done']);
    expect(new Set(names.slice(3, -2))).toEqual(new Set(['token']));
    const observation = searchDocs(prompt);
    expect(JSON.parse(events[1]!.data)).toEqual({ tool: 'search_docs', input: { query: prompt } });
    expect(JSON.parse(events[2]!.data)).toEqual({ tool: 'search_docs', output: observation });
    const final = JSON.parse(events.at(-2)!.data) as { output: string };
    expect(final.output).toBe(answerFor(prompt, observation));
    expect(
      events
        .filter((e) => e.event === 'token')
        .map((e) => e.data)
        .join(''),
    ).toBe(final.output);
    expect(stack.emulator.stats).toMatchObject({ requests: 2, completed: 2 });
  });

  it('/api/relay passes the upstream chat.completion.chunk data through and ends with [DONE]', async () => {
    stack = await startStack(framework);
    const response = await postJson(`${stack.demo.url}/api/relay`, { prompt });
    const events = parseSse(await response.text());
    expect(events.at(-1)?.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e.data) as {
          object: string;
          choices: { delta: { content?: string } }[];
        },
    );
    expect(new Set(chunks.map((c) => c.object))).toEqual(new Set(['chat.completion.chunk']));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(answer);
  });

  it('/api/relay decodes, as seed 001 does, into data-only JSON chunks that stop at [DONE]', async () => {
    stack = await startStack(framework);
    const response = await fetch(
      `${stack.demo.url}/api/relay?prompt=${encodeURIComponent(prompt)}`,
    );
    const chunks: OpenAIChatChunk[] = [];
    for await (const chunk of readSseData<OpenAIChatChunk>(response)) chunks.push(chunk);
    expect(chunks.map(openAIText).join('')).toBe(answer);
  });

  for (const path of ['/api/chat', '/api/raw', '/api/agent', '/api/relay']) {
    it(`a client leaving ${path} mid-answer aborts the generation upstream`, async () => {
      stack = await startStack(framework);
      // The agent's first call is the tool call: hold there, so the client leaves mid-call.
      const release = stack.emulator.hold(3);
      const controller = new AbortController();
      const response = await fetch(`${stack.demo.url}${path}?prompt=stop`, {
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      if (path !== '/api/agent') await reader.read(); // the first bytes are there
      await until(() => stack!.emulator.log[0]?.tokensSent === 3);
      const aborted = once(stack.emulator.events, 'aborted');
      controller.abort();
      await aborted;
      release();
      expect(stack.emulator.stats).toMatchObject({ requests: 1, completed: 0, aborted: 1 });
    });
  }
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
}
