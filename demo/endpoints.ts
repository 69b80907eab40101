/**
 * What every demo app serves, framework-neutral: the route table, the producers (LLM calls through
 * the `openai` SDK with the writer's `signal`) and each endpoint's stream options. The Express, Koa
 * and Hono apps in `demo/apps/` only wire these to routes.
 * @module
 */
import type OpenAI from 'openai';
import {
  agentEvents,
  openAIText,
  readSse,
  type SseMessage,
  type SseWriter,
  type StreamOptions,
  type UIMessageChunk,
  UIMessageParts,
  uiMessageStream,
} from 'ssekit';
import { EMULATOR_TOOL, searchDocs } from './emulator.js';
import type { Llm } from './llm.js';

type ChatCompletionChunk = OpenAI.Chat.Completions.ChatCompletionChunk;
type ChatMessage = OpenAI.Chat.Completions.ChatCompletionMessageParam;

/** One demo endpoint: the route table that the apps, the start-up banner and the tests share. */
export interface Endpoint {
  /** `GET` or `POST`. */
  readonly method: 'GET' | 'POST';
  /** The path, without query. */
  readonly path: string;
  /** The response's `Content-Type`, without parameters. */
  readonly contentType: string;
  /** One line for humans. */
  readonly summary: string;
}

/** The prompt used when a request names none. */
export const DEFAULT_PROMPT = 'What are Server-Sent Events?';

/** Every endpoint each demo app serves, besides the page at `/`. */
export const endpoints: readonly Endpoint[] = [
  ep('GET', '/api/chat', 'text/event-stream', 'chat tokens as SSE, for EventSource (?prompt=)'),
  ep('POST', '/api/chat', 'text/event-stream', 'chat tokens as SSE, for fetch ({"prompt"})'),
  ep('GET', '/api/ask', 'text/event-stream', 'chat with the stream toggle (?prompt=&stream=false)'),
  ep('POST', '/api/ask', 'text/event-stream', 'chat with the stream toggle ({"prompt","stream"})'),
  ep('GET', '/api/raw', 'text/plain', 'the bare tokens as chunked text/plain'),
  ep('POST', '/api/raw', 'text/plain', 'the bare tokens as chunked text/plain'),
  ep('GET', '/api/ndjson', 'application/x-ndjson', 'one {"token"} JSON line per token'),
  ep('POST', '/api/ndjson', 'application/x-ndjson', 'one {"token"} JSON line per token'),
  ep('GET', '/api/agent', 'text/event-stream', 'agent events: thought, action, observation, final'),
  ep(
    'POST',
    '/api/agent',
    'text/event-stream',
    'agent events: thought, action, observation, final',
  ),
  ep('GET', '/api/relay', 'text/event-stream', 'the upstream chat.completion.chunk SSE + [DONE]'),
  ep('POST', '/api/relay', 'text/event-stream', 'the upstream chat.completion.chunk SSE + [DONE]'),
  ep(
    'POST',
    '/api/chats/:id',
    'text/event-stream',
    'start (or join) resumable chat :id ({"prompt"}): tokens with ids <gen>.<seq>',
  ),
  ep(
    'GET',
    '/api/chats/:id/stream',
    'text/event-stream',
    'resume chat :id (Last-Event-ID or ?cursor=); 204 when nothing to resume',
  ),
  ep(
    'POST',
    '/api/chats/:id/stop',
    'application/json',
    'stop chat :id, on whichever instance runs it',
  ),
  ep('POST', '/api/ui-chat', 'text/event-stream', 'the AI SDK UI message stream, for useChat'),
  ep(
    'GET',
    '/api/ui-chat/:id/stream',
    'text/event-stream',
    "useChat's resume: replays a running UI chat; 204 when none runs",
  ),
];

function ep(
  method: Endpoint['method'],
  path: string,
  contentType: string,
  summary: string,
): Endpoint {
  return { method, path, contentType, summary };
}

/** Reads the prompt from a query value or a parsed JSON body. */
export function promptOf(value: unknown): string {
  const prompt =
    typeof value === 'object' && value !== null ? (value as { prompt?: unknown }).prompt : value;
  return typeof prompt === 'string' && prompt.trim() !== '' ? prompt : DEFAULT_PROMPT;
}

function messagesFor(prompt: string): ChatMessage[] {
  return [
    { role: 'system', content: 'You are a concise assistant. Answer in a few short lines.' },
    { role: 'user', content: prompt },
  ];
}

/** The content token of an OpenAI chunk, or `undefined` for chunks that carry none. */
export const tokenOf = (chunk: ChatCompletionChunk): string | undefined =>
  openAIText(chunk) || undefined;

/**
 * Starts a streamed chat completion: the SDK's `Stream` of chunks, an async iterable that ssekit
 * pipes. The writer's signal goes to the SDK, so a client that leaves cancels the upstream request.
 */
export function chatCompletion(
  llm: Llm,
  prompt: string,
  signal: AbortSignal,
): Promise<AsyncIterable<ChatCompletionChunk>> {
  return llm.client.chat.completions.create(
    { model: llm.model, messages: messagesFor(prompt), stream: true },
    { signal },
  );
}

/** `/api/chat`: each token as one SSE event, then `event: done` so EventSource can close. */
export const chatOptions = {
  map: tokenOf,
  done: { event: 'done', data: '' },
} satisfies StreamOptions<ChatCompletionChunk>;

/** `/api/raw`: the bare tokens as `text/plain` chunks. */
export const rawOptions = {
  format: 'raw',
  map: tokenOf,
} satisfies StreamOptions<ChatCompletionChunk>;

/** `/api/ndjson`: one `{"token":…}` line per token. */
export const ndjsonOptions = {
  format: 'ndjson',
  map: (chunk: ChatCompletionChunk) => {
    const token = tokenOf(chunk);
    return token === undefined ? undefined : { token };
  },
} satisfies StreamOptions<ChatCompletionChunk>;

/**
 * `/api/agent`: named events, then `event: done`. The agent's first event comes only after a whole
 * model call, so `open` commits the headers at once: the client sees the response start instead
 * of waiting (until the first heartbeat) with nothing.
 */
export const agentOptions = {
  open: true,
  done: { event: 'done', data: '' },
} satisfies StreamOptions;

/**
 * `/api/relay`: the upstream's events passed through untouched, except its `[DONE]`: ssekit sends
 * its own, only when the upstream finished normally.
 */
export const relayOptions = {
  map: (message: SseMessage) => (message.data === '[DONE]' ? undefined : message),
  done: { data: '[DONE]' },
} satisfies StreamOptions<SseMessage>;

/**
 * Relays the provider's own SSE: the raw `Response` of the SDK call, read with ssekit's
 * `readSse` (eventsource-parser underneath). The client's abort reaches the upstream twice over:
 * the signal aborts the request, and ssekit cancels the body it is reading.
 */
export async function relay(
  llm: Llm,
  prompt: string,
  signal: AbortSignal,
): Promise<AsyncIterable<SseMessage>> {
  const response = await llm.client.chat.completions
    .create({ model: llm.model, messages: messagesFor(prompt), stream: true }, { signal })
    .asResponse();
  return readSse(response);
}

/** The agent's one tool, as the chat-completions API describes tools. */
const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: EMULATOR_TOOL,
      description: 'Search the ssekit documentation.',
      parameters: {
        type: 'object',
        properties: { query: { type: 'string' } },
        required: ['query'],
      },
    },
  },
];

/**
 * A small ReAct-style loop in the shape of seed 002: the model thinks and picks a tool (one
 * streamed call with `tools`), the tool runs, and the final answer is streamed token by token.
 * Every step is a named event, sent with ssekit's `agentEvents`; answer tokens are `token` events.
 */
export async function agent(llm: Llm, prompt: string, writer: SseWriter): Promise<void> {
  const { signal } = writer;
  const emit = agentEvents(writer);
  const token = (text: string): Promise<void> => writer.send(text, { event: 'token' });
  const messages = messagesFor(prompt);
  const plan = await llm.client.chat.completions.create(
    { model: llm.model, messages, tools, stream: true },
    { signal },
  );
  let thought = '';
  const calls: { id: string; name: string; arguments: string }[] = [];
  for await (const chunk of plan) {
    const delta = chunk.choices[0]?.delta;
    thought += delta?.content ?? '';
    for (const call of delta?.tool_calls ?? []) {
      const slot = (calls[call.index] ??= { id: '', name: '', arguments: '' });
      slot.id += call.id ?? '';
      slot.name += call.function?.name ?? '';
      slot.arguments += call.function?.arguments ?? '';
    }
  }
  if (calls.length === 0) {
    // The model answered at once, without a tool.
    await token(thought);
    await emit.final({ output: thought });
    return;
  }
  if (thought !== '') await emit.thought({ text: thought });
  messages.push({
    role: 'assistant',
    content: thought || null,
    tool_calls: calls.map((call) => ({
      id: call.id,
      type: 'function' as const,
      function: { name: call.name, arguments: call.arguments },
    })),
  });
  for (const call of calls) {
    const input = JSON.parse(call.arguments || '{}') as { query?: unknown };
    await emit.action({ tool: call.name, input });
    const query = typeof input.query === 'string' ? input.query : '';
    const output = call.name === EMULATOR_TOOL ? searchDocs(query) : 'unknown tool';
    await emit.observation({ tool: call.name, output });
    messages.push({ role: 'tool', tool_call_id: call.id, content: output });
  }
  const answer = await llm.client.chat.completions.create(
    { model: llm.model, messages, stream: true },
    { signal },
  );
  let text = '';
  for await (const chunk of answer) {
    const piece = tokenOf(chunk);
    if (piece === undefined) continue;
    text += piece;
    await token(piece);
  }
  await emit.final({ output: text });
}

/**
 * The prompt of an AI SDK chat request (the body `DefaultChatTransport` sends,
 * `{ id, messages, trigger, messageId }`): the text parts of the last user message.
 */
export function uiPromptOf(body: unknown): string {
  const messages = (body as { messages?: unknown } | null | undefined)?.messages;
  const last = Array.isArray(messages)
    ? (messages as { role?: unknown; parts?: unknown }[]).findLast((m) => m?.role === 'user')
    : undefined;
  const parts = Array.isArray(last?.parts)
    ? (last.parts as { type?: unknown; text?: unknown }[])
    : [];
  return promptOf(
    parts
      .filter((part) => part?.type === 'text' && typeof part.text === 'string')
      .map((part) => part.text as string)
      .join(''),
  );
}

/** `/api/ui-chat`: the UI message stream options (`data: [DONE]`, masked error parts). */
export const uiChatOptions = uiMessageStream();

/**
 * `/api/ui-chat`: the agent loop of {@link agent} as one AI SDK UI message: the thought as text,
 * the tool call as tool parts (`tool-search_docs`: input streamed, then available, then its
 * output), and the answer as text, in two steps.
 */
export async function* uiChat(
  llm: Llm,
  prompt: string,
  signal: AbortSignal,
): AsyncGenerator<UIMessageChunk, void, undefined> {
  const parts = new UIMessageParts();
  const messages = messagesFor(prompt);
  yield* parts.start();
  yield* parts.startStep();
  const plan = await llm.client.chat.completions.create(
    { model: llm.model, messages, tools, stream: true },
    { signal },
  );
  let thought = '';
  for await (const chunk of plan) {
    thought += chunk.choices[0]?.delta?.content ?? '';
    yield* parts.openAI(chunk);
  }
  yield* parts.finishStep();
  const calls = parts.toolCalls;
  if (calls.length === 0) return yield* parts.finish();
  messages.push({
    role: 'assistant',
    content: thought || null,
    tool_calls: calls.map((call) => ({
      id: call.toolCallId,
      type: 'function' as const,
      function: { name: call.toolName, arguments: JSON.stringify(call.input) },
    })),
  });
  for (const call of calls) {
    const query = (call.input as { query?: unknown }).query;
    const output =
      call.toolName === EMULATOR_TOOL && typeof query === 'string'
        ? searchDocs(query)
        : 'unknown tool';
    yield* parts.toolOutput(call.toolCallId, output);
    messages.push({ role: 'tool', tool_call_id: call.toolCallId, content: output });
  }
  yield* parts.startStep();
  const answer = await llm.client.chat.completions.create(
    { model: llm.model, messages, stream: true },
    { signal },
  );
  for await (const chunk of answer) yield* parts.openAI(chunk);
  yield* parts.finish();
}
