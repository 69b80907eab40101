import type { AddressInfo } from 'node:net';
import { CallbackManager, type Callbacks } from '@langchain/core/callbacks/manager';
import { Document } from '@langchain/core/documents';
import { RunnableLambda } from '@langchain/core/runnables';
import { DynamicStructuredTool } from '@langchain/core/tools';
import type { JsonSchema7Type } from '@langchain/core/utils/json_schema';
import { FakeListChatModel, FakeRetriever } from '@langchain/core/utils/testing';
import {
  customFormat,
  isSseError,
  langChainHandler,
  type LangChainHandler,
  resolveOptions,
  runStream,
  sseEvent,
  type SseWriter,
} from 'ssekit';
import { sse } from 'ssekit/node';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { start as startRecipe } from '../../examples/langchain.js';
import { aborted, allEvents, closeAfterEach, closeServer, events, serve } from './helpers.js';

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
      { map: 'token' },
    ].map((options) => {
      try {
        langChainHandler(writer, options as never);
      } catch (error) {
        return isSseError(error) ? error.code : error;
      }
      return undefined;
    });
    expect(codes).toEqual(['INVALID_OPTION', 'INVALID_EVENT', 'INVALID_OPTION', 'INVALID_OPTION']);
  });

  it("ends the stream with the endpoint's error event and tells onError when the format refuses a token", async () => {
    // Seed 003's framing, with tokens sent as text: the model's "\n" token cannot be carried.
    const model = new FakeListChatModel({ responses: ['ab\ncd'] });
    const errors: unknown[] = [];
    const warn = vi.spyOn(console, 'warn');
    const url = await serve(
      sse(
        async (writer) => {
          await model.invoke('Hello', {
            callbacks: [langChainHandler(writer, { events: { llmEnd: false } })],
            signal: writer.signal,
          });
        },
        {
          format: customFormat({ prefix: 'data: ', suffix: '\n\n' }),
          onError: (error) => errors.push(error),
        },
      ),
    );
    const body = await (await fetch(url)).text();
    // What was accepted arrives, then the error event; nothing after the refused token.
    expect(body).toBe('data: a\n\ndata: b\n\ndata: {"error":"Internal Server Error"}\n\n');
    expect(errors).toHaveLength(1);
    expect(isSseError(errors[0]) && errors[0].code).toBe('INVALID_DATA');
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it('ends the stream the same way from stream(), where LangChain does not await the token callback', async () => {
    // FakeListChatModel calls handleLLMNewToken without awaiting it: a throw would be an
    // unhandled rejection (vitest fails the run on one), a swallowed one a gap in the answer.
    const model = new FakeListChatModel({ responses: ['ab\ncd'] });
    const errors: unknown[] = [];
    const body = await (
      await fetch(
        await serve(
          sse(
            async (writer) => {
              const handler = langChainHandler(writer, { events: { llmEnd: false } });
              const chunks = await model.stream('Hello', {
                callbacks: [handler],
                signal: writer.signal,
              });
              for await (const chunk of chunks) expect(typeof chunk.content).toBe('string');
            },
            { format: customFormat({ suffix: '\n' }), onError: (error) => errors.push(error) },
          ),
        ),
      )
    ).text();
    expect(body).toBe('a\nb\n{"error":"Internal Server Error"}\n');
    expect(errors.map((error) => isSseError(error) && error.code)).toEqual(['INVALID_DATA']);
  });

  it('sends seed 003\'s stream: {"token"} chunks, then {"source_documents"} from the chain\'s result', async () => {
    const retriever = new FakeRetriever({
      output: [
        new Document({ pageContent: 'SSE is one-way.', metadata: { source: 'spec.html' } }),
        new Document({ pageContent: 'Use EventSource.', metadata: { source: 'mdn.html' } }),
      ],
    });
    const model = new FakeListChatModel({ responses: ['One way.\nSee the spec.'] });
    const qa = RunnableLambda.from(async (question: string, config) => {
      const documents = await retriever.invoke(question, config);
      const answer = await model.invoke(`${documents.length} documents: ${question}`, config);
      return { answer: answer.content, source_documents: documents };
    });
    const received = await stream(
      async (writer) => {
        const handler = langChainHandler(writer, {
          map: (event) => {
            if (event.type === 'token') return { token: event.data };
            if (event.type !== 'chainEnd') return undefined;
            const documents = event.data.outputs['source_documents'] as Document[];
            return {
              source_documents: documents.map((d) => ({
                page_content: d.pageContent,
                metadata: d.metadata,
              })),
            };
          },
        });
        await qa.invoke('What is SSE?', { callbacks: [handler], signal: writer.signal });
      },
      // lanarky's body_prefix and body_suffix, as in the seed.
      {
        format: customFormat({
          prefix: 'data: ',
          suffix: '\n\n',
          contentType: 'text/event-stream',
        }),
      },
    );
    const chunks = received.map((event) => JSON.parse(event.data) as Record<string, unknown>);
    const tokens = chunks.slice(0, -1);
    expect(tokens.length).toBeGreaterThan(1);
    expect(tokens.map((chunk) => chunk['token']).join('')).toBe('One way.\nSee the spec.');
    expect(chunks.at(-1)).toEqual({
      source_documents: [
        { page_content: 'SSE is one-way.', metadata: { source: 'spec.html' } },
        { page_content: 'Use EventSource.', metadata: { source: 'mdn.html' } },
      ],
    });
  });

  it("serves seed 003's stream from the recipe (examples/langchain.ts /qa), byte for byte", async () => {
    const server = await startRecipe(0);
    closeAfterEach(() => closeServer(server));
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/qa?question=What%20is%20SSE%3F`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = await response.text();
    const answer = 'Server-Sent Events stream text, one token at a time.';
    const tokens = [...answer].map((token) => `data: ${JSON.stringify({ token })}\n\n`);
    const sources = {
      source_documents: [
        {
          page_content: 'Server-Sent Events are one-way, over plain HTTP.',
          metadata: { source: 'https://html.spec.whatwg.org/multipage/server-sent-events.html' },
        },
      ],
    };
    expect(body).toBe(tokens.join('') + `data: ${JSON.stringify(sources)}\n\n`);
  });

  it("gives map each callback with its default name, so a tool's steps keep theirs", async () => {
    const model = new FakeListChatModel({ responses: ['ok'] });
    const received = await stream(async (writer) => {
      const handler = langChainHandler(writer, {
        events: { llmEnd: false },
        map: (event) =>
          event.type === 'token'
            ? { text: event.data }
            : sseEvent(event.data, { event: event.name }),
      });
      const config = { callbacks: [handler] };
      const result = await calculator.invoke({ a: 84, b: 2 }, config);
      await model.invoke(`The answer is ${result}`, config);
    });
    expect(received.map((event) => [event.event, JSON.parse(event.data) as unknown])).toEqual([
      ['tool_start', { tool: 'divide', input: '{"a":84,"b":2}' }],
      ['tool_end', { tool: 'divide', output: '42' }],
      [undefined, { text: 'o' }],
      [undefined, { text: 'k' }],
    ]);
  });

  it("sends a chain's outputs only when chainEnd is named, for the outermost run", async () => {
    const chain = RunnableLambda.from((text: string) => text.toUpperCase()).pipe(
      RunnableLambda.from((text: string) => `${text}!`),
    );
    for (const events of [{}, { chainEnd: 'result' }]) {
      const received = await stream(async (writer) => {
        await chain.invoke('hi', { callbacks: [langChainHandler(writer, { events })] });
      });
      expect(named(received)).toEqual(
        'chainEnd' in events ? [['result', { outputs: { output: 'HI!' } }]] : [],
      );
    }
  });

  it("ends the stream with the endpoint's error event when map throws", async () => {
    const model = new FakeListChatModel({ responses: ['abc'] });
    const errors: unknown[] = [];
    const received = await stream(
      async (writer) => {
        const handler = langChainHandler(writer, {
          map: (event) => {
            if (event.type === 'token' && event.data === 'b') throw new TypeError('bad token');
            return event.type === 'token' ? event.data : undefined;
          },
        });
        await model.invoke('Hello', { callbacks: [handler], signal: writer.signal });
      },
      { onError: (error) => errors.push(error) },
    );
    expect(received.map((event) => [event.event, event.data])).toEqual([
      [undefined, 'a'],
      ['error', '{"error":"Internal Server Error"}'],
    ]);
    expect(errors).toEqual([new TypeError('bad token')]);
  });

  it('needs no LangChain flags from the user: a plain handler object gets no token from invoke()', async () => {
    const plain: string[] = [];
    const ours: string[] = [];
    const model = new FakeListChatModel({ responses: ['seventeen tokens!'] });
    await model.invoke('Hello', {
      callbacks: [{ handleLLMNewToken: (token: string) => void plain.push(token) }],
    });
    const received = await stream(async (writer) => {
      await model.invoke('Hello', {
        callbacks: [langChainHandler(writer, { events: { llmEnd: false } })],
      });
    });
    ours.push(...received.map((event) => event.data));
    expect(plain).toEqual([]); // the control: what users hit without awaitHandlers/lc_prefer_streaming
    expect(ours).toEqual([...'seventeen tokens!']);
  });

  it("is accepted where @langchain/core's `callbacks` are", () => {
    expectTypeOf<[LangChainHandler]>().toExtend<Callbacks>();
  });
});
