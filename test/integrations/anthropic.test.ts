import { anthropicText, type AnthropicStreamEvent, isSseError, readSseData } from 'ssekit';
import { sse } from 'ssekit/node';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { startFakeLlm, tokenize } from '../../examples/fake-llm.js';
import { allEvents, closeAfterEach, serve } from './helpers.js';

// A Messages stream as Anthropic documents it (https://docs.anthropic.com/en/api/messages-streaming).
const documented: AnthropicStreamEvent[] = [
  { type: 'message_start', message: { id: 'msg_1', content: [], stop_reason: null } },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: '!' } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', input: {} } },
  {
    type: 'content_block_delta',
    index: 1,
    delta: { type: 'input_json_delta', partial_json: '{"a' },
  },
  { type: 'content_block_delta', index: 1, delta: { type: 'thinking_delta', thinking: 'hmm' } },
  { type: 'content_block_stop', index: 1 },
  { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} },
  { type: 'message_stop' },
] as AnthropicStreamEvent[];

/** An object of the SDK's `Stream` shape: async-iterable, and nothing else. */
function sdkStream<T>(items: readonly T[]): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      const iterator = items[Symbol.iterator]();
      return { next: () => Promise.resolve(iterator.next()) };
    },
  };
}

describe('anthropicText', () => {
  it('reads text_delta content blocks and skips every other event', () => {
    expect(documented.map((event) => anthropicText(event)).filter(Boolean)).toEqual(['Hello', '!']);
  });

  it('throws UPSTREAM_ERROR for an error event, keeping the provider error as the cause', () => {
    const error = { type: 'overloaded_error', message: 'Overloaded' };
    let thrown: unknown;
    try {
      anthropicText({ type: 'error', error });
    } catch (caught) {
      thrown = caught;
    }
    expect(isSseError(thrown) && thrown.code).toBe('UPSTREAM_ERROR');
    expect((thrown as Error).cause).toBe(error);
  });

  it("accepts the SDK's event shapes, including message_delta whose delta has no text", () => {
    expectTypeOf<{
      type: 'message_delta';
      delta: { stop_reason: 'end_turn' | null; stop_sequence: string | null };
      usage: { output_tokens: number };
    }>().toExtend<AnthropicStreamEvent>();
  });
});

describe('Anthropic streams through ssekit', () => {
  it('turns an emulated Messages event stream into tokens through readSseData', async () => {
    const fake = await startFakeLlm();
    closeAfterEach(() => fake.close());
    const url = await serve(
      sse(
        async (writer) => {
          const upstream = await fetch(`${fake.url}/v1/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ messages: [{ role: 'user', content: 'Sing' }], stream: true }),
            signal: writer.signal,
          });
          return readSseData<AnthropicStreamEvent>(upstream, { done: false });
        },
        { map: anthropicText },
      ),
    );
    const received = await allEvents(await fetch(url));
    expect(received.map((event) => event.data)).toEqual(tokenize('Hello! You said: Sing'));
  });

  it('streams an SDK-shaped async iterable of events', async () => {
    const url = await serve(sse(() => sdkStream(documented), { map: anthropicText }));
    const received = await allEvents(await fetch(url));
    expect(received.map((event) => event.data)).toEqual(['Hello', '!']);
  });

  it('ends with the error event, after the tokens sent, when the provider reports an error mid-stream', async () => {
    const overloaded = [
      ...documented.slice(0, 4),
      { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
      ...documented.slice(4),
    ];
    const url = await serve(sse(() => sdkStream(overloaded), { map: anthropicText }));
    const received = await allEvents(await fetch(url));
    expect(received).toEqual([
      { data: 'Hello', event: undefined, id: undefined },
      { data: '{"error":"Internal Server Error"}', event: 'error', id: undefined },
    ]);
  });
});
