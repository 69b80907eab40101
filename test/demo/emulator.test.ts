/**
 * The emulator behaves like the chat-completions API as the `openai` SDK sees it, and notices
 * clients that abort.
 */
import { once } from 'node:events';
import OpenAI from 'openai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { answerFor, type Emulator, startEmulator, tokenize } from '../../demo/emulator.js';

let emulator: Emulator;
let client: OpenAI;

beforeEach(async () => {
  emulator = await startEmulator({ tokenDelay: 0 });
  client = new OpenAI({ baseURL: emulator.baseURL, apiKey: 'emulator', maxRetries: 0 });
});
afterEach(() => emulator.close());

const messages = (prompt: string): OpenAI.Chat.Completions.ChatCompletionMessageParam[] => [
  { role: 'user', content: prompt },
];

describe('emulator', () => {
  it('cuts text at token boundaries with leading spaces, punctuation and line breaks', () => {
    expect(tokenize('Hello, world!\nBye')).toEqual(['Hello', ',', ' world', '!', '\n', 'Bye']);
    expect(tokenize(' Server-Sent')).toEqual([' Server', '-', 'Sent']);
    expect(tokenize(' streaming').join('')).toBe(' streaming');
  });

  it('streams chat.completion.chunk objects that the SDK reassembles into the deterministic answer', async () => {
    const stream = await client.chat.completions.create({
      model: 'x',
      messages: messages('What is SSE?'),
      stream: true,
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]?.object).toBe('chat.completion.chunk');
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(answerFor('What is SSE?'));
    expect(text).toContain('\n');
    expect(chunks.some((c) => c.choices[0]?.delta?.content?.startsWith(' '))).toBe(true);
    expect(emulator.stats).toEqual({ requests: 1, completed: 1, aborted: 0 });
  });

  it('ends the raw stream with data: [DONE] and sends a usage chunk when asked', async () => {
    const response = await fetch(`${emulator.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        messages: messages('hi'),
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = await response.text();
    expect(body.endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
    const last = JSON.parse(body.split('\n\n').at(-3)!.slice('data: '.length)) as {
      choices: unknown[];
      usage: { total_tokens: number };
    };
    expect(last.choices).toEqual([]);
    expect(last.usage.total_tokens).toBeGreaterThan(0);
  });

  it('answers one chat.completion document without stream', async () => {
    const completion = await client.chat.completions.create({
      model: 'x',
      messages: messages('What is SSE?'),
    });
    expect(completion.choices[0]?.message.content).toBe(answerFor('What is SSE?'));
    expect(completion.usage?.completion_tokens).toBe(tokenize(answerFor('What is SSE?')).length);
  });

  it('calls the offered tool first, then answers with the tool result', async () => {
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'search_docs', parameters: { type: 'object' } } },
    ];
    const first = await client.chat.completions.create({
      model: 'x',
      messages: messages('retry'),
      tools,
    });
    const call = first.choices[0]?.message.tool_calls?.[0];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.type === 'function' && call.function.name).toBe('search_docs');
    const second = await client.chat.completions.create({
      model: 'x',
      messages: [
        ...messages('retry'),
        first.choices[0]!.message,
        { role: 'tool', tool_call_id: call!.id, content: 'FACT' },
      ],
      tools,
    });
    expect(second.choices[0]?.message.content).toContain('According to the docs: FACT');
  });

  it('counts a generation as aborted when the SDK call is aborted mid-stream', async () => {
    emulator.setTokenDelay(5);
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'x', messages: messages('abort me'), stream: true },
      { signal: controller.signal },
    );
    const aborted = once(emulator.events, 'aborted');
    let seen = 0;
    // The SDK's stream ends quietly when its signal aborts.
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content && ++seen === 3) controller.abort();
    }
    const [generation] = (await aborted) as [{ status: string; tokensSent: number }];
    expect(generation.status).toBe('aborted');
    expect(generation.tokensSent).toBeLessThan(tokenize(answerFor('abort me')).length);
    expect(emulator.stats).toMatchObject({ requests: 1, completed: 0, aborted: 1 });
  });

  it('holds generations at a token until released', async () => {
    const release = emulator.hold(2);
    const stream = await client.chat.completions.create({
      model: 'x',
      messages: messages('hold'),
      stream: true,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const step = await iterator.next();
      if (!step.done) texts.push(step.value.choices[0]?.delta.content ?? '');
    }
    expect(texts.slice(1)).toEqual(tokenize(answerFor('hold')).slice(0, 2));
    expect(emulator.log[0]).toMatchObject({ status: 'streaming', tokensSent: 2 });
    release();
    for (let step = await iterator.next(); !step.done; step = await iterator.next());
    expect(emulator.log[0]?.status).toBe('completed');
  });
});
