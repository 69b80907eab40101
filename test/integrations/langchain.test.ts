import { CallbackManager, type Callbacks } from '@langchain/core/callbacks/manager';
import { Document } from '@langchain/core/documents';
import { RunnableLambda } from '@langchain/core/runnables';
import { DynamicStructuredTool } from '@langchain/core/tools';
import type { JsonSchema7Type } from '@langchain/core/utils/json_schema';
import { FakeListChatModel, FakeRetriever } from '@langchain/core/utils/testing';
import {
  isSseError,
  langChainHandler,
  type LangChainHandler,
  resolveOptions,
  runStream,
  type SseWriter,
} from 'ssekit';
import { sse } from 'ssekit/node';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { aborted, allEvents, events, serve } from './helpers.js';

type Run = (writer: SseWriter) => Promise<void>;

/** Streams `run` from a real ssekit endpoint and reads it with eventsource-parser. */
async function stream(run: Run, options: Parameters<typeof sse>[1] = {}) {
  const url = await serve(sse((writer) => run(writer), options));
  return allEvents(await fetch(url));
}

const named = (received: Array<{ event?: string | undefined; data: string }>) =>
  received
    .filter((event) => event.event !== undefined)
    .map((event) => [event.event, JSON.parse(event.data) as unknown]);

const divideSchema: JsonSchema7Type = {
  type: 'object',
  properties: { a: { type: 'number' }, b: { type: 'number' } },
  required: ['a', 'b'],
};

const calculator = new DynamicStructuredTool({
  name: 'divide',
  description: 'Divides a by b',
  schema: divideSchema,
  func: (input: { a: number; b: number }) => {
    if (input.b === 0) return Promise.reject(new Error('division by zero at /srv/secret/path'));
    return Promise.resolve(String(input.a / input.b));
  },
});

describe('langChainHandler with @langchain/core', () => {
  it("streams a chat model's tokens from invoke() into the response, then llm_end", async () => {
    const model = new FakeListChatModel({ responses: ['Hi there, é🙂'] });
    const received = await stream(async (writer) => {
      const message = await model.invoke('Hello', {
        callbacks: [langChainHandler(writer)],
        signal: writer.signal,
      });
      expect(message.content).toBe('Hi there, é🙂');
    });
    const tokens = received.filter((event) => event.event === undefined);
    expect(tokens.length).toBeGreaterThan(1); // token by token, not one answer
    expect(tokens.map((event) => event.data).join('')).toBe('Hi there, é🙂');
    expect(named(received)).toEqual([['llm_end', { text: 'Hi there, é🙂' }]]);
  });

  it('holds the model while the client is slow (LangChain awaits each callback), losing no token', async () => {
    const model = new FakeListChatModel({ responses: ['slow client'] });
    const frames: string[] = [];
    // A transport that is full after every frame and drains on the next turn of the event loop.
    const transport = {
      commit() {},
      write: (frame: string) => (frames.push(frame), false),
      waitForDrain: () => new Promise<void>((resolve) => setImmediate(resolve)),
      close() {},
    };
    const run = runStream(
      transport,
      async (writer) => {
        const handler = langChainHandler(writer, { events: { llmEnd: false } });
        await model.invoke('Hello', { callbacks: [handler] });
      },
      resolveOptions({ heartbeat: false }),
    );
    await run.done;
    expect(frames.join('')).toBe([...'slow client'].map((c) => `data: ${c}\n\n`).join(''));
  });

  it("sends tokens with the endpoint's event name and honours renamed and disabled events", async () => {
    const model = new FakeListChatModel({ responses: ['ok'] });
    const received = await stream(
      async (writer) => {
        const handler = langChainHandler(writer, { events: { llmEnd: false } });
        for await (const chunk of await model.stream('Hello', { callbacks: [handler] })) {
          expect(typeof chunk.content).toBe('string');
        }
      },
      { event: 'token' },
    );
    expect(received.map((event) => [event.event, event.data])).toEqual([
      ['token', 'o'],
      ['token', 'k'],
    ]);
  });

  it('sends tool_start and tool_end for a real tool, by name, with the ToolMessage content', async () => {
    const received = await stream(async (writer) => {
      const callbacks = [langChainHandler(writer)];
      await calculator.invoke({ a: 84, b: 2 }, { callbacks });
      const call = {
        id: 'call_1',
        name: 'divide',
        args: { a: 9, b: 3 },
        type: 'tool_call' as const,
      };
      await calculator.invoke(call, { callbacks });
    });
    expect(named(received)).toEqual([
      ['tool_start', { tool: 'divide', input: '{"a":84,"b":2}' }],
      ['tool_end', { tool: 'divide', output: '42' }],
      ['tool_start', { tool: 'divide', input: '{"a":9,"b":3}' }],
      ['tool_end', { tool: 'divide', output: '3' }],
    ]);
  });

  it('maps tool events onto the agent vocabulary when renamed', async () => {
    const received = await stream(async (writer) => {
      const handler = langChainHandler(writer, {
        events: { toolStart: 'action', toolEnd: 'observation' },
      });
      await calculator.invoke({ a: 1, b: 4 }, { callbacks: [handler] });
    });
    expect(named(received).map(([event]) => event)).toEqual(['action', 'observation']);
  });

  it('sends tool_error without the message unless exposeErrors is set', async () => {
    for (const exposeErrors of [false, true]) {
      const received = await stream(async (writer) => {
        const callbacks = [langChainHandler(writer, { exposeErrors })];
        await expect(calculator.invoke({ a: 1, b: 0 }, { callbacks })).rejects.toThrow();
      });
      expect(named(received)).toEqual([
        ['tool_start', { tool: 'divide', input: '{"a":1,"b":0}' }],
        [
          'tool_error',
          {
            tool: 'divide',
            error: exposeErrors ? 'division by zero at /srv/secret/path' : 'Internal Server Error',
          },
        ],
      ]);
    }
  });

  it('sends agent_action and agent_end from the callback manager an AgentExecutor uses', async () => {
    const received = await stream(async (writer) => {
      const manager = CallbackManager.configure([langChainHandler(writer)]);
      const run = await manager?.handleChainStart(
        { lc: 1, type: 'not_implemented', id: ['agent'] },
        {},
      );
      await run?.handleAgentAction({
        tool: 'divide',
        toolInput: { a: 84, b: 2 },
        log: 'Thought: I should divide.\nAction: divide',
      });
      await run?.handleAgentEnd({
        returnValues: { output: 'The answer is 42.' },
        log: 'Final Answer: The answer is 42.',
      });
    });
    expect(named(received)).toEqual([
      [
        'agent_action',
        {
          tool: 'divide',
          input: { a: 84, b: 2 },
          log: 'Thought: I should divide.\nAction: divide',
        },
      ],
      ['agent_end', { output: 'The answer is 42.', log: 'Final Answer: The answer is 42.' }],
    ]);
  });

  it('sends llm_error when the model fails, then the endpoint ends with its own error event', async () => {
    const model = new FakeListChatModel({ responses: ['never'] });
    const received = await stream(async (writer) => {
      await writer.send('thinking…');
      await model.invoke('Hello', {
        callbacks: [langChainHandler(writer)],
        thrownErrorString: 'provider key sk-123 rejected',
      });
    });
    expect(named(received)).toEqual([
      ['llm_error', { error: 'Internal Server Error' }],
      ['error', { error: 'Internal Server Error' }],
    ]);
  });

  it('sends chain_error once, for the outermost run of a failing sequence', async () => {
    const failing = RunnableLambda.from((text: string) => text.toUpperCase()).pipe(
      RunnableLambda.from((): string => {
        throw new Error('step two failed');
      }),
    );
    const received = await stream(
      async (writer) => {
        await writer.send('start');
        await failing.invoke('x', {
          callbacks: [langChainHandler(writer, { exposeErrors: true })],
        });
      },
      { errorEvent: false },
    );
    expect(named(received)).toEqual([['chain_error', { error: 'step two failed' }]]);
  });

  it("sends retriever_end with the documents' content and metadata", async () => {
    const retriever = new FakeRetriever({
      output: [new Document({ pageContent: 'SSE is one-way.', metadata: { source: 'spec.html' } })],
    });
    const received = await stream(async (writer) => {
      await retriever.invoke('what is SSE?', { callbacks: [langChainHandler(writer)] });
    });
    expect(named(received)).toEqual([
      [
        'retriever_end',
        { documents: [{ pageContent: 'SSE is one-way.', metadata: { source: 'spec.html' } }] },
      ],
    ]);
  });

  it('stops the model when the client goes away, through the signal handed to invoke', async () => {
    const model = new FakeListChatModel({ responses: ['x'.repeat(2000)], sleep: 5 });
    let outcome!: Promise<unknown>;
    let serverSignal!: AbortSignal;
    const url = await serve(
      sse(async (writer) => {
        serverSignal = writer.signal;
        outcome = model.invoke('Hello', {
          callbacks: [langChainHandler(writer)],
          signal: writer.signal,
        });
        await outcome;
      }),
    );
    const client = new AbortController();
    const reader = events(await fetch(url, { signal: client.signal }));
    expect((await reader.read()).value?.data).toBe('x');
    client.abort();
    await aborted(serverSignal);
    await expect(outcome).rejects.toThrow();
  });

  it('refuses unknown callbacks and unsendable names at once', () => {
    const writer = { send: () => Promise.resolve() } as unknown as SseWriter;
    const codes = [
      { events: { nope: 'x' } },
      { events: { toolEnd: 'a\nb' } },
      { events: { llmEnd: 1 } },
    ].map((options) => {
      try {
        langChainHandler(writer, options as never);
      } catch (error) {
        return isSseError(error) ? error.code : error;
      }
      return undefined;
    });
    expect(codes).toEqual(['INVALID_OPTION', 'INVALID_EVENT', 'INVALID_OPTION']);
  });

  it("is accepted where @langchain/core's `callbacks` are", () => {
    expectTypeOf<[LangChainHandler]>().toExtend<Callbacks>();
  });
});
