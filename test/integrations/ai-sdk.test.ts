/**
 * The AI SDK's UI message stream, checked with the real `ai` package (v7.0.173, in Node): parts
 * built from OpenAI, Anthropic and LangChain streams assemble into the message they describe
 * (`readUIMessageStream`), and the demo's `POST /api/ui-chat` on Express, Koa and Hono answers
 * `DefaultChatTransport` with the emulator's text and the tool call as a tool part.
 */
import type { Socket } from 'node:net';
import { AIMessageChunk } from '@langchain/core/messages';
import { FakeStreamingChatModel } from '@langchain/core/utils/testing';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import {
  anthropicUIMessages,
  type AnthropicStreamEvent,
  langChainUIMessages,
  openAIUIMessages,
  type OpenAIStreamItem,
  type UIMessageChunk,
  UIMessageParts,
  uiMessageStream,
} from 'ssekit';
import { connect } from 'ssekit/client';
import { sse } from 'ssekit/node';
import { afterEach, describe, expect, it } from 'vitest';
import { answerFor, searchDocs, thoughtFor } from '../../demo/emulator.js';
import { frameworks, parseSse, type Stack, startStack } from '../demo/helpers.js';
import { serve } from './helpers.js';

async function assemble(
  parts: AsyncIterable<UIMessageChunk> | UIMessageChunk[],
): Promise<UIMessage> {
  const list: UIMessageChunk[] = [];
  for await (const part of parts) list.push(part);
  const stream = new ReadableStream({
    start(controller) {
      for (const part of list) controller.enqueue(part);
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  const errors: unknown[] = [];
  for await (const message of readUIMessageStream({
    stream: stream as never,
    onError: (error) => errors.push(error),
    terminateOnError: true,
  })) {
    last = message;
  }
  expect(errors).toEqual([]);
  return last as UIMessage;
}

async function* items<T>(list: readonly T[]): AsyncGenerator<T> {
  for (const item of list) yield await Promise.resolve(item);
}

const textOf = (message: UIMessage): string[] =>
  message.parts.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text);

describe('UIMessageParts', () => {
  it('turns chat-completions chunks (reasoning, text, a tool call) into one UI message', async () => {
    const chunks = [
      { choices: [{ delta: { role: 'assistant', reasoning_content: 'Think' } }] },
      { choices: [{ delta: { reasoning_content: 'ing.' } }] },
      { choices: [{ delta: { content: 'Hello' } }] },
      { choices: [{ delta: { content: ' there' } }] },
      {
        choices: [
          {
            delta: {
              tool_calls: [
                { index: 0, id: 'call_1', function: { name: 'weather', arguments: '' } },
              ],
            },
          },
        ],
      },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: '{"city"' } }] } }] },
      { choices: [{ delta: { tool_calls: [{ index: 0, function: { arguments: ':"Oslo"}' } }] } }] },
      { choices: [{ delta: {}, finish_reason: 'tool_calls' }] },
    ] as OpenAIStreamItem[];
    const parts: UIMessageChunk[] = [];
    for await (const part of openAIUIMessages(items(chunks))) parts.push(part);
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    const message = await assemble(parts);
    expect(message.parts.map((p) => p.type)).toEqual([
      'step-start',
      'reasoning',
      'text',
      'tool-weather',
    ]);
    expect(message.parts[1]).toMatchObject({ text: 'Thinking.', state: 'done' });
    expect(textOf(message)).toEqual(['Hello there']);
    expect(message.parts[3]).toMatchObject({
      toolCallId: 'call_1',
      state: 'input-available',
      input: { city: 'Oslo' },
    });
  });

  it('turns Responses API events into text and a function call', async () => {
    const events = [
      { type: 'response.created' },
      { type: 'response.output_text.delta', delta: 'Hi' },
      {
        type: 'response.output_item.added',
        item: { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'lookup' },
      },
      { type: 'response.function_call_arguments.delta', item_id: 'fc_1', delta: '{"q":1}' },
      { type: 'response.completed' },
    ] as OpenAIStreamItem[];
    const message = await assemble(openAIUIMessages(items(events)));
    expect(textOf(message)).toEqual(['Hi']);
    expect(message.parts.at(-1)).toMatchObject({
      type: 'tool-lookup',
      toolCallId: 'call_9',
      input: { q: 1 },
    });
  });

  it('turns an Anthropic Messages stream (thinking, text, tool_use) into one UI message', async () => {
    // The event sequence Anthropic documents (https://docs.anthropic.com/en/api/messages-streaming).
    const events = [
      { type: 'message_start', message: { id: 'msg_1', content: [] } },
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      {
        type: 'content_block_delta',
        index: 0,
        delta: { type: 'thinking_delta', thinking: 'Hmm.' },
      },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
      { type: 'ping' },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Let me ' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'check.' } },
      { type: 'content_block_stop', index: 1 },
      {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} },
      },
      {
        type: 'content_block_delta',
        index: 2,
        delta: { type: 'input_json_delta', partial_json: '{"loc' },
      },
      {
        type: 'content_block_delta',
        index: 2,
        delta: { type: 'input_json_delta', partial_json: '":"SF"}' },
      },
      { type: 'content_block_stop', index: 2 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: {} },
      { type: 'message_stop' },
    ] as AnthropicStreamEvent[];
    const parts: UIMessageChunk[] = [];
    for await (const part of anthropicUIMessages(items(events))) parts.push(part);
    expect(parts.at(-1)).toEqual({ type: 'finish', finishReason: 'tool-calls' });
    const message = await assemble(parts);
    expect(message.parts.map((p) => p.type)).toEqual([
      'step-start',
      'reasoning',
      'text',
      'tool-get_weather',
    ]);
    expect(textOf(message)).toEqual(['Let me check.']);
    expect(message.parts[3]).toMatchObject({ toolCallId: 'toolu_1', input: { loc: 'SF' } });
  });

  it('throws on an Anthropic error event, so the endpoint sends its masked error part', async () => {
    const events = [{ type: 'error', error: { type: 'overloaded_error', message: 'secret' } }];
    const url = await serve(
      sse(() => anthropicUIMessages(items(events as AnthropicStreamEvent[])), uiMessageStream()),
    );
    const body = await (await fetch(url)).text();
    expect(body).toContain('data: {"type":"error","errorText":"An error occurred."}\n\n');
    expect(body).not.toContain('secret');
    expect(body).not.toContain('[DONE]');
  });

  it('turns LangChain AIMessageChunks (text, tool_call_chunks) into one UI message', async () => {
    // What `model.stream()` yields for ChatOpenAI: text chunks, then the call in pieces.
    const chunks = [
      new AIMessageChunk({ content: 'Looking ' }),
      new AIMessageChunk({ content: [{ type: 'text', text: 'it up.' }] }),
      new AIMessageChunk({
        content: '',
        tool_call_chunks: [{ id: 'lc_1', name: 'search', args: '{"q":', index: 0 }],
      }),
      new AIMessageChunk({ content: '', tool_call_chunks: [{ args: '"sse"}', index: 0 }] }),
    ];
    const message = await assemble(langChainUIMessages(items(chunks)));
    expect(textOf(message)).toEqual(['Looking it up.']);
    expect(message.parts.at(-1)).toMatchObject({
      type: 'tool-search',
      toolCallId: 'lc_1',
      input: { q: 'sse' },
    });
  });

  it('reads a LangChain chat model stream whose chunks carry whole tool_calls', async () => {
    const model = new FakeStreamingChatModel({
      chunks: [
        new AIMessageChunk({ content: 'Sure.' }),
        new AIMessageChunk({
          content: '',
          tool_call_chunks: [{ id: 'lc_2', name: 'search', args: '{"q":"sse"}', index: 0 }],
        }),
      ],
    });
    const message = await assemble(langChainUIMessages(await model.stream('hi')));
    expect(textOf(message)).toEqual(['Sure.']);
    expect(message.parts.at(-1)).toMatchObject({ type: 'tool-search', input: { q: 'sse' } });
  });

  it('refuses a tool delta for an unknown call, and broken tool JSON', () => {
    const parts = new UIMessageParts();
    expect(() => parts.toolInputDelta('nope', '{}')).toThrow(
      expect.objectContaining({ code: 'INVALID_DATA' }),
    );
    parts.toolInputStart('c', 't');
    parts.toolInputDelta('c', '{"a":');
    expect(() => parts.toolInputEnd()).toThrow(expect.objectContaining({ code: 'UPSTREAM_ERROR' }));
  });

  it('sends the error message only with exposeErrors', async () => {
    const failing = sse(
      async function* () {
        yield* new UIMessageParts().start();
        await Promise.resolve();
        throw new Error('db password wrong');
      },
      uiMessageStream({ exposeErrors: true }),
    );
    const body = await (await fetch(await serve(failing))).text();
    expect(body).toContain('{"type":"error","errorText":"db password wrong"}');
    expect(() => uiMessageStream({ exposeErrors: 'yes' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTION', field: 'exposeErrors' }),
    );
  });
});

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe.each(frameworks)('POST /api/ui-chat on %s, read by the AI SDK', (framework) => {
  const userMessage = (text: string): UIMessage => ({
    id: 'u1',
    role: 'user',
    parts: [{ type: 'text', text }],
  });

  it('answers DefaultChatTransport: the emulator text as text parts, the tool call as a tool part', async () => {
    stack = await startStack(framework);
    const prompt = 'How does SSE reconnect?';
    const transport = new DefaultChatTransport({ api: `${stack.demo.url}/api/ui-chat` });
    const stream = await transport.sendMessages({
      chatId: 'chat-1',
      messages: [userMessage(prompt)],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
    });
    let message: UIMessage | undefined;
    for await (const m of readUIMessageStream({ stream })) message = m;
    const output = searchDocs(prompt);
    expect(textOf(message!)).toEqual([thoughtFor(prompt), answerFor(prompt, output)]);
    const tool = message!.parts.find((p) => p.type === 'tool-search_docs');
    expect(tool).toMatchObject({ state: 'output-available', input: { query: prompt }, output });
    expect(message!.parts.map((p) => p.type)).toEqual([
      'step-start',
      'text',
      'tool-search_docs',
      'step-start',
      'text',
    ]);
    expect(stack.emulator.stats).toEqual({ requests: 2, completed: 2, aborted: 0 });
  });

  it('sends the protocol header, JSON parts with resumable ids, and data: [DONE]', async () => {
    stack = await startStack(framework);
    const response = await fetch(`${stack.demo.url}/api/ui-chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'c', messages: [userMessage('hi')], trigger: 'submit-message' }),
    });
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('ssekit-resume-url')).toBe('/api/ui-chat/c/stream');
    const events = parseSse(await response.text());
    const gen = response.headers.get('ssekit-cursor')?.split('.')[0];
    expect(events[0]).toEqual({ id: `${gen}.1`, event: undefined, data: '{"type":"start"}' });
    expect(events.at(-2)?.data).toBe('{"type":"finish","finishReason":"stop"}');
    expect(events.at(-1)).toEqual({ id: undefined, event: undefined, data: '[DONE]' });
  });

  it("answers useChat's resume: the running answer replayed from its start, then 204", async () => {
    stack = await startStack(framework);
    const prompt = 'resume the UI chat';
    const release = stack.emulator.hold(4);
    const transport = new DefaultChatTransport({ api: `${stack.demo.url}/api/ui-chat` });
    const controller = new AbortController();
    const first = await transport.sendMessages({
      chatId: 'ui-1',
      messages: [userMessage(prompt)],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: controller.signal,
    });
    // The page reloads mid-answer: the first stream is dropped after a few parts.
    const reader = first.getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    controller.abort();
    await reader.cancel().catch(() => undefined);
    release();
    const resumed = await transport.reconnectToStream({ chatId: 'ui-1' });
    expect(resumed).not.toBeNull();
    let message: UIMessage | undefined;
    for await (const m of readUIMessageStream({ stream: resumed! })) message = m;
    const output = searchDocs(prompt);
    expect(textOf(message!)).toEqual([thoughtFor(prompt), answerFor(prompt, output)]);
    // Run once: the plan and the answer, not again for the resume.
    expect(stack.emulator.stats.requests).toBe(2);
    expect(await transport.reconnectToStream({ chatId: 'ui-1' })).toBeNull();
    expect(await transport.reconnectToStream({ chatId: 'never-started' })).toBeNull();
  });

  it('resumes mid-answer from its Last-Event-ID with ssekit/client, every part once', async () => {
    stack = await startStack(framework);
    const open = new Set<Socket>();
    stack.demo.server.on('connection', (socket: Socket) => void open.add(socket));
    const prompt = 'cut the UI chat';
    const parts: UIMessageChunk[] = [];
    const stream = connect<{ message: UIMessageChunk }>(`${stack.demo.url}/api/ui-chat`, {
      json: { id: 'ui-2', messages: [userMessage(prompt)], trigger: 'submit-message' },
      parse: 'json',
      resume: { delay: 10 },
    });
    for await (const event of stream) {
      if (event.event === 'ssekit.reset') throw new Error('unexpected reset');
      parts.push(event.data);
      if (parts.length === 6) for (const socket of open) socket.destroy();
    }
    expect(stream.reconnects).toBe(1);
    const message = await assemble(parts);
    expect(textOf(message)).toEqual([thoughtFor(prompt), answerFor(prompt, searchDocs(prompt))]);
    expect(stack.emulator.stats.requests).toBe(2);
  });
});
