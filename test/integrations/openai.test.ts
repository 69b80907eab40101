import OpenAI from 'openai';
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { collectText, isSseError, openAIText, type OpenAIStreamItem } from 'ssekit';
import { sse } from 'ssekit/node';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { startFakeLlm, tokenize } from '../../examples/fake-llm.js';
import { allEvents, closeAfterEach, events, serve } from './helpers.js';

// Chunks as seed 001 shows them (OpenAI's chat-completions stream, April 2023).
const chunk = (delta: object, finish: string | null = null) => ({
  choices: [{ delta, finish_reason: finish, index: 0 }],
  created: 1681734469,
  id: 'chatcmpl-76IFRG54YaoTcpb7bPEw5SvJZT5N6',
  model: 'gpt-3.5-turbo-0301',
  object: 'chat.completion.chunk',
});

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

async function fakeOpenAI(options: Parameters<typeof startFakeLlm>[0] = {}) {
  const fake = await startFakeLlm(options);
  closeAfterEach(() => fake.close());
  const client = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'test', maxRetries: 0 });
  return { fake, client };
}

describe('openAIText', () => {
  it('reads the content delta of chat.completion.chunk objects and skips the role and finish chunks', () => {
    const stream = [
      chunk({ role: 'assistant' }),
      chunk({ content: '1' }),
      chunk({ content: ',' }),
      chunk({ content: ' ' }),
      chunk({ content: '2' }),
      chunk({}, 'stop'),
    ];
    expect(stream.map((item) => openAIText(item))).toEqual([
      undefined,
      '1',
      ',',
      ' ',
      '2',
      undefined,
    ]);
  });

  it('skips an empty content, a null content and a usage chunk without choices', () => {
    expect(openAIText(chunk({ role: 'assistant', content: '' }))).toBeUndefined();
    expect(openAIText(chunk({ content: null }))).toBeUndefined();
    expect(openAIText({ choices: [], usage: { total_tokens: 3 } } as OpenAIStreamItem)).toBe(
      undefined,
    );
  });

  it('reads response.output_text.delta events and skips the Responses lifecycle events', () => {
    expect(openAIText({ type: 'response.output_text.delta', delta: ' world' })).toBe(' world');
    expect(openAIText({ type: 'response.created' })).toBeUndefined();
    expect(openAIText({ type: 'response.function_call_arguments.delta', delta: '{"a"' })).toBe(
      undefined,
    );
  });

  it('throws UPSTREAM_ERROR for an error chunk, an error event and a response.failed event', () => {
    const items = [
      { error: { message: 'overloaded', type: 'server_error' } } as unknown as OpenAIStreamItem,
      { type: 'error', message: 'boom' },
      { type: 'response.failed', response: { error: { message: 'x' } } },
    ];
    for (const item of items) {
      const error = caught(() => openAIText(item));
      expect(isSseError(error) && error.code).toBe('UPSTREAM_ERROR');
    }
  });

  it("accepts the openai SDK's chunk and Responses event types", () => {
    expectTypeOf<ChatCompletionChunk>().toExtend<OpenAIStreamItem>();
    expectTypeOf<ResponseStreamEvent>().toExtend<OpenAIStreamItem>();
  });
});

describe('openai SDK streams through ssekit', () => {
  it('streams chat-completions tokens from the real SDK as data events', async () => {
    const { client, fake } = await fakeOpenAI();
    const url = await serve(
      sse(
        (writer) =>
          client.chat.completions.create(
            { model: 'fake', messages: [{ role: 'user', content: 'Count to 3' }], stream: true },
            { signal: writer.signal },
          ),
        { map: openAIText, done: { event: 'done', data: '' } },
      ),
    );
    const received = await allEvents(await fetch(url));
    const tokens = received.filter((event) => event.event === undefined).map((e) => e.data);
    expect(tokens).toEqual(tokenize('Hello! You said: Count to 3'));
    expect(received.at(-1)).toEqual({ event: 'done', data: '', id: undefined });
    expect(await fake.requests[0]?.ended).toBe('completed');
  });

  it('streams Responses API tokens from the real SDK', async () => {
    const { client } = await fakeOpenAI();
    const url = await serve(
      sse(
        (writer) =>
          client.responses.create(
            { model: 'fake', input: 'Hi there', stream: true },
            { signal: writer.signal },
          ),
        { map: openAIText },
      ),
    );
    const received = await allEvents(await fetch(url));
    expect(received.map((event) => event.data).join('')).toBe('Hello! You said: Hi there');
  });

  it('relays the chunks themselves as JSON ended by [DONE], readable by the SDK as an upstream', async () => {
    const { client } = await fakeOpenAI();
    const url = await serve(
      sse(
        (writer) =>
          client.chat.completions.create(
            { model: 'fake', messages: [{ role: 'user', content: 'relay me' }], stream: true },
            { signal: writer.signal },
          ),
        { done: { data: '[DONE]' } },
      ),
    );
    const received = await allEvents(await fetch(url));
    expect(received.at(-1)?.data).toBe('[DONE]');
    const first = JSON.parse(received[0]?.data ?? '') as ChatCompletionChunk;
    expect(first.object).toBe('chat.completion.chunk');

    // The relay is itself an OpenAI-compatible stream: the SDK reads it (it POSTs; the relay
    // listener answers any method).
    const viaRelay = new OpenAI({ baseURL: url, apiKey: 'test', maxRetries: 0 });
    const stream = await viaRelay.chat.completions.create({
      model: 'fake',
      messages: [{ role: 'user', content: 'ignored' }],
      stream: true,
    });
    expect(await collectText(stream, { map: openAIText })).toBe('Hello! You said: relay me');
  });

  it('aborts the SDK request upstream when the client goes away', async () => {
    const { client, fake } = await fakeOpenAI({ holdAfter: 2 });
    const url = await serve(
      sse(
        (writer) =>
          client.chat.completions.create(
            { model: 'fake', messages: [{ role: 'user', content: 'a long answer' }], stream: true },
            { signal: writer.signal },
          ),
        { map: openAIText },
      ),
    );
    const client2 = new AbortController();
    const reader = events(await fetch(url, { signal: client2.signal }));
    expect((await reader.read()).value?.data).toBe('Hello!');
    client2.abort();
    expect(await fake.requests[0]?.ended).toBe('aborted');
  });
});
