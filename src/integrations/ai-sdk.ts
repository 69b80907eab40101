/**
 * The Vercel AI SDK's UI message stream protocol (what `useChat` and `DefaultChatTransport`
 * read), so an ssekit endpoint on Express, Koa or Hono can answer them: the part types, a
 * builder that turns OpenAI, Anthropic and LangChain streams into parts, and the endpoint
 * options (`data: [DONE]`, masked `error` parts). Typed structurally: `ai` is never a
 * dependency of ssekit. Checked against `ai` 7.0.173 (`ui-message-chunks.ts`,
 * `ui-message-stream-headers.ts`, `json-to-sse-transform-stream.ts`).
 * @module
 */
import { SseError } from '../errors.js';
import type { SseEventInit, StreamOptions } from '../options.js';
import type { AnthropicStreamEvent } from './anthropic.js';
import { anthropicText } from './anthropic.js';
import { openAIText, type OpenAIStreamItem } from './openai.js';
import type { Resumable, ResumeOptions, ResumeReply } from '../resume/index.js';

/** Why a message (or step) finished, as the AI SDK names it. */
export type UIFinishReason =
  'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'interrupted' | 'other';

/**
 * The parts of a UI message stream that ssekit writes (the AI SDK's `UIMessageChunk`, of which
 * this is a subset: every value of this type is a valid chunk).
 *
 * @example A text answer, part by part
 * ```ts
 * import type { UIMessageChunk } from 'ssekit';
 *
 * const parts: UIMessageChunk[] = [
 *   { type: 'start' },
 *   { type: 'text-start', id: 't1' },
 *   { type: 'text-delta', id: 't1', delta: 'Hi' },
 *   { type: 'text-end', id: 't1' },
 *   { type: 'finish', finishReason: 'stop' },
 * ];
 * ```
 */
export type UIMessageChunk =
  | {
      /** The message starts. */
      type: 'start';
      /** The assistant message's id; the client makes one when absent. */
      messageId?: string;
      /** Metadata the client stores on the message. */
      messageMetadata?: unknown;
    }
  | {
      /** A step (one model call) starts or ends. */
      type: 'start-step' | 'finish-step';
    }
  | {
      /** A text or reasoning part starts or ends. */
      type: 'text-start' | 'text-end' | 'reasoning-start' | 'reasoning-end';
      /** The part's id, shared by its start, deltas and end. */
      id: string;
    }
  | {
      /** A piece of a text or reasoning part. */
      type: 'text-delta' | 'reasoning-delta';
      /** The part's id. */
      id: string;
      /** The text added. */
      delta: string;
    }
  | {
      /** A tool call starts; its input follows in pieces. */
      type: 'tool-input-start';
      /** The call's id. */
      toolCallId: string;
      /** The tool's name (the client's part is `tool-<name>`). */
      toolName: string;
      /** A `dynamic-tool` part instead of `tool-<name>`. */
      dynamic?: boolean;
    }
  | {
      /** A piece of a tool call's JSON input. */
      type: 'tool-input-delta';
      /** The call's id. */
      toolCallId: string;
      /** The JSON text added. */
      inputTextDelta: string;
    }
  | {
      /** A tool call's input is complete. */
      type: 'tool-input-available';
      /** The call's id. */
      toolCallId: string;
      /** The tool's name. */
      toolName: string;
      /** The parsed input. */
      input: unknown;
      /** A `dynamic-tool` part. */
      dynamic?: boolean;
    }
  | {
      /** A tool's result. */
      type: 'tool-output-available';
      /** The call's id. */
      toolCallId: string;
      /** What the tool returned. */
      output: unknown;
      /** A `dynamic-tool` part. */
      dynamic?: boolean;
    }
  | {
      /** A tool failed. */
      type: 'tool-output-error';
      /** The call's id. */
      toolCallId: string;
      /** What to show. */
      errorText: string;
      /** A `dynamic-tool` part. */
      dynamic?: boolean;
    }
  | {
      /** The message is complete. */
      type: 'finish';
      /** Why it finished. */
      finishReason?: UIFinishReason;
      /** Metadata the client stores on the message. */
      messageMetadata?: unknown;
    }
  | {
      /** The stream failed; `useChat` sets its `error`. */
      type: 'error';
      /** What to show (masked by default, see {@link uiMessageStream}). */
      errorText: string;
    }
  | {
      /** A custom data part, `data-<name>`. */
      type: `data-${string}`;
      /** Parts with the same id replace each other. */
      id?: string;
      /** The data. */
      data: unknown;
      /** Delivered to `onData` only, not stored on the message. */
      transient?: boolean;
    };

/**
 * The header that marks a UI message stream (`x-vercel-ai-ui-message-stream: v1`). ssekit sets
 * `Content-Type`, `Cache-Control` and `X-Accel-Buffering` itself; set this one on the response
 * before streaming (`res.setHeader`, `ctx.set`, `c.header`).
 *
 * @example On an Express response
 * ```ts
 * import { uiMessageStreamHeaders } from 'ssekit';
 *
 * declare const res: import('node:http').ServerResponse;
 * for (const [name, value] of Object.entries(uiMessageStreamHeaders)) res.setHeader(name, value);
 * ```
 */
export const uiMessageStreamHeaders: Readonly<Record<string, string>> = Object.freeze({
  'x-vercel-ai-ui-message-stream': 'v1',
});

/** Options of {@link uiMessageStream}. */
export interface UIMessageStreamOptions {
  /**
   * Sends the error's message in the `error` part. Off by default, as in the AI SDK: server
   * details (keys, hosts, stack frames) must not reach the browser.
   * @defaultValue `false`
   */
  exposeErrors?: boolean | undefined;
  /** The `errorText` of a masked error. @defaultValue `'An error occurred.'` (the AI SDK's) */
  errorText?: string | undefined;
}

/**
 * The stream options of a UI message stream endpoint: every part as one `data:` JSON frame,
 * `data: [DONE]` after a normal end, and a failure as an `error` part whose text is masked
 * unless `exposeErrors` is set. Spread them into the endpoint's options.
 *
 * @throws {@link SseError} `INVALID_OPTION` for an option of the wrong type.
 *
 * @example A useChat endpoint on Express
 * ```ts
 * import express from 'express';
 * import { openAIUIMessages, uiMessageStream, uiMessageStreamHeaders } from 'ssekit';
 * import { sse } from 'ssekit/express';
 * import OpenAI from 'openai';
 *
 * const client = new OpenAI();
 * const app = express();
 * app.post(
 *   '/api/chat',
 *   express.json(),
 *   sse(async (writer, req, res) => {
 *     res.setHeaders(new Map(Object.entries(uiMessageStreamHeaders)));
 *     const { messages } = req.body as { messages: { role: 'user'; parts: { type: 'text'; text: string }[] }[] };
 *     const content = messages.at(-1)?.parts.map((part) => part.text).join('') ?? '';
 *     const stream = await client.chat.completions.create(
 *       { model: 'gpt-4o-mini', messages: [{ role: 'user', content }], stream: true },
 *       { signal: writer.signal },
 *     );
 *     return openAIUIMessages(stream);
 *   }, uiMessageStream()),
 * );
 * ```
 */
export function uiMessageStream(options: UIMessageStreamOptions = {}): StreamOptions<unknown> {
  const { exposeErrors = false, errorText = 'An error occurred.' } = options;
  if (typeof exposeErrors !== 'boolean') {
    throw new SseError('INVALID_OPTION', '`exposeErrors` must be a boolean', {
      field: 'exposeErrors',
    });
  }
  if (typeof errorText !== 'string') {
    throw new SseError('INVALID_OPTION', '`errorText` must be a string', { field: 'errorText' });
  }
  return {
    done: { data: '[DONE]' },
    errorEvent: (error: unknown): SseEventInit => ({
      data: {
        type: 'error',
        errorText: exposeErrors && error instanceof Error ? error.message : errorText,
      } satisfies UIMessageChunk,
    }),
  };
}

/** A tool call whose input is complete, as {@link UIMessageParts.toolCalls} lists it. */
export interface UIToolCall {
  /** The call's id. */
  readonly toolCallId: string;
  /** The tool's name. */
  readonly toolName: string;
  /** The input, parsed from the streamed JSON (`{}` when the model sent none). */
  readonly input: unknown;
}

/** Options of {@link UIMessageParts}. */
export interface UIMessagePartsOptions {
  /** The assistant message's id, sent in the `start` part. @defaultValue none: the client makes one */
  messageId?: string | undefined;
  /**
   * Marks tool parts `dynamic` (the client renders them as `dynamic-tool` parts, without a
   * typed tool definition); otherwise they are `tool-<name>` parts.
   * @defaultValue `false`
   */
  dynamicTools?: boolean | undefined;
}

interface PendingCall {
  toolCallId: string;
  toolName: string;
  text: string;
}

const OPENAI_FINISH: Record<string, UIFinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
};

const ANTHROPIC_FINISH: Record<string, UIFinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
};

/**
 * Builds the parts of one assistant message: opens a text or reasoning part when its first
 * delta comes and closes it when something else starts, gathers streamed tool inputs until they
 * are complete, and reads OpenAI, Anthropic and LangChain stream items. Every method returns
 * the parts to send now (often none); send them in order. One builder per message.
 *
 * @example An agent step with a tool
 * ```ts
 * import { UIMessageParts, type UIMessageChunk } from 'ssekit';
 *
 * const parts = new UIMessageParts();
 * const out: UIMessageChunk[] = [
 *   ...parts.start(),
 *   ...parts.text('Let me look that up.'),
 *   ...parts.toolInputStart('call_1', 'search'),
 *   ...parts.toolInputDelta('call_1', '{"query":"sse"}'),
 *   ...parts.toolInputEnd(),
 *   ...parts.toolOutput('call_1', 'SSE is a one-way stream.'),
 *   ...parts.finish('stop'),
 * ];
 * ```
 */
export class UIMessageParts {
  /** The finish reason the stream reported, if any (used by {@link UIMessageParts.finish}). */
  finishReason: UIFinishReason | undefined = undefined;
  private readonly messageId: string | undefined;
  private readonly dynamic: boolean;
  private open: { kind: 'text' | 'reasoning'; id: string } | undefined = undefined;
  private counter = 0;
  private pending = new Map<string, PendingCall>();
  private byIndex = new Map<string, string>();
  private complete: UIToolCall[] = [];
  private inStep = false;

  constructor(options: UIMessagePartsOptions = {}) {
    this.messageId = options.messageId;
    this.dynamic = options.dynamicTools === true;
  }

  /** The tool calls whose input is complete, since the builder was made. */
  get toolCalls(): readonly UIToolCall[] {
    return this.complete;
  }

  /** The `start` part, with the message id when one was given. */
  start(messageMetadata?: unknown): UIMessageChunk[] {
    const part: UIMessageChunk = { type: 'start' };
    if (this.messageId !== undefined) part.messageId = this.messageId;
    if (messageMetadata !== undefined) part.messageMetadata = messageMetadata;
    return [part];
  }

  /** Starts a step (one model call of an agent loop): `start-step`. */
  startStep(): UIMessageChunk[] {
    const parts = this.inStep ? this.finishStep() : [];
    this.inStep = true;
    return [...parts, { type: 'start-step' }];
  }

  /** Ends the current step: closes open parts, completes tool inputs, `finish-step`. */
  finishStep(): UIMessageChunk[] {
    const parts = this.toolInputEnd();
    if (!this.inStep) return parts;
    this.inStep = false;
    return [...parts, { type: 'finish-step' }];
  }

  /** A text delta (empty deltas send nothing). */
  text(delta: string): UIMessageChunk[] {
    return this.delta('text', delta);
  }

  /** A reasoning delta (empty deltas send nothing). */
  reasoning(delta: string): UIMessageChunk[] {
    return this.delta('reasoning', delta);
  }

  /** A tool call starts: `tool-input-start`. A repeated start for the same id sends nothing. */
  toolInputStart(toolCallId: string, toolName: string): UIMessageChunk[] {
    if (this.pending.has(toolCallId)) return [];
    const parts = this.close();
    this.pending.set(toolCallId, { toolCallId, toolName, text: '' });
    parts.push({ type: 'tool-input-start', toolCallId, toolName, ...this.dynamicFlag() });
    return parts;
  }

  /** A piece of a tool call's JSON input: `tool-input-delta`. */
  toolInputDelta(toolCallId: string, delta: string): UIMessageChunk[] {
    const call = this.pending.get(toolCallId);
    if (call === undefined) {
      throw new SseError('INVALID_DATA', `tool input for an unknown tool call ${toolCallId}`, {
        field: 'toolCallId',
      });
    }
    if (delta === '') return [];
    call.text += delta;
    return [{ type: 'tool-input-delta', toolCallId, inputTextDelta: delta }];
  }

  /**
   * Completes every pending tool input: `tool-input-available` with the parsed input (`{}` when
   * empty). Invalid JSON is an {@link SseError} `UPSTREAM_ERROR`: the model sent a broken call.
   */
  toolInputEnd(): UIMessageChunk[] {
    const parts = this.close();
    for (const call of this.pending.values()) {
      let input: unknown;
      try {
        input = call.text.trim() === '' ? {} : JSON.parse(call.text);
      } catch (error) {
        throw new SseError(
          'UPSTREAM_ERROR',
          `the input of tool call ${call.toolCallId} is not JSON`,
          { cause: error },
        );
      }
      const { toolCallId, toolName } = call;
      this.complete.push({ toolCallId, toolName, input });
      parts.push({
        type: 'tool-input-available',
        toolCallId,
        toolName,
        input,
        ...this.dynamicFlag(),
      });
    }
    this.pending.clear();
    this.byIndex.clear();
    return parts;
  }

  /** A tool's result: `tool-output-available`. */
  toolOutput(toolCallId: string, output: unknown): UIMessageChunk[] {
    return [
      ...this.toolInputEnd(),
      { type: 'tool-output-available', toolCallId, output, ...this.dynamicFlag() },
    ];
  }

  /** Ends the message: closes what is open, completes tool inputs, ends the step, `finish`. */
  finish(finishReason: UIFinishReason | undefined = this.finishReason): UIMessageChunk[] {
    const parts = this.finishStep();
    parts.push(finishReason === undefined ? { type: 'finish' } : { type: 'finish', finishReason });
    return parts;
  }

  /**
   * Reads one OpenAI stream item: a chat-completions chunk (text in `delta.content`, reasoning
   * in `delta.reasoning_content` or `delta.reasoning` as OpenAI-compatible servers send it, tool
   * calls in `delta.tool_calls`, the `finish_reason`) or a Responses API event (output text,
   * reasoning text and summaries, function calls). Errors in the stream are thrown, as by
   * {@link openAIText}.
   */
  openAI(item: OpenAIStreamItem): UIMessageChunk[] {
    const text = openAIText(item); // throws for error chunks and events
    if ('choices' in item) {
      const choice = (Array.isArray(item.choices) ? item.choices[0] : undefined) as
        OpenAIChoice | undefined;
      const delta = choice?.delta ?? undefined;
      const parts: UIMessageChunk[] = [];
      const reasoning = delta?.reasoning_content ?? delta?.reasoning;
      if (typeof reasoning === 'string') parts.push(...this.reasoning(reasoning));
      if (text !== undefined) parts.push(...this.text(text));
      for (const call of delta?.tool_calls ?? []) {
        const key = String(call.index ?? 0);
        let id = this.byIndex.get(key);
        if (id === undefined && typeof call.id === 'string' && call.id !== '') {
          id = call.id;
          this.byIndex.set(key, id);
          parts.push(...this.toolInputStart(id, call.function?.name ?? ''));
        }
        const args = call.function?.arguments;
        if (id !== undefined && typeof args === 'string')
          parts.push(...this.toolInputDelta(id, args));
      }
      const finish = choice?.finish_reason;
      if (typeof finish === 'string') this.finishReason = OPENAI_FINISH[finish] ?? 'other';
      return parts;
    }
    const event = item as OpenAIResponseEventFull;
    switch (event.type) {
      case 'response.output_text.delta':
        return text === undefined ? [] : this.text(text);
      case 'response.reasoning_text.delta':
      case 'response.reasoning_summary_text.delta':
        return typeof event.delta === 'string' ? this.reasoning(event.delta) : [];
      case 'response.output_item.added':
        if (event.item?.type === 'function_call' && typeof event.item.id === 'string') {
          const callId = event.item.call_id ?? event.item.id;
          this.byIndex.set(event.item.id, callId);
          return this.toolInputStart(callId, event.item.name ?? '');
        }
        return [];
      case 'response.function_call_arguments.delta': {
        const id = this.byIndex.get(String(event.item_id));
        return id !== undefined && typeof event.delta === 'string'
          ? this.toolInputDelta(id, event.delta)
          : [];
      }
      case 'response.completed':
        this.finishReason ??= this.complete.length + this.pending.size > 0 ? 'tool-calls' : 'stop';
        return [];
      case 'response.incomplete':
        this.finishReason = 'length';
        return [];
      default:
        return [];
    }
  }

  /**
   * Reads one Anthropic Messages stream event: text, thinking and tool-use content blocks and
   * the `stop_reason`. An `error` event is thrown, as by {@link anthropicText}.
   */
  anthropic(event: AnthropicStreamEvent): UIMessageChunk[] {
    const text = anthropicText(event); // throws for `error` events
    const full = event as AnthropicEventFull;
    switch (full.type) {
      case 'content_block_start': {
        const block = full.content_block;
        if (block?.type === 'tool_use' && typeof block.id === 'string') {
          this.byIndex.set(`a${full.index ?? 0}`, block.id);
          return this.toolInputStart(block.id, block.name ?? '');
        }
        return [];
      }
      case 'content_block_delta': {
        if (text !== undefined) return this.text(text);
        const delta = full.delta as { type?: string; thinking?: unknown; partial_json?: unknown };
        if (delta?.type === 'thinking_delta' && typeof delta.thinking === 'string') {
          return this.reasoning(delta.thinking);
        }
        const id = this.byIndex.get(`a${full.index ?? 0}`);
        if (delta?.type === 'input_json_delta' && id !== undefined) {
          return this.toolInputDelta(
            id,
            typeof delta.partial_json === 'string' ? delta.partial_json : '',
          );
        }
        return [];
      }
      case 'content_block_stop':
        return this.byIndex.has(`a${full.index ?? 0}`) ? this.toolInputEnd() : this.close();
      case 'message_delta': {
        const reason = (full.delta as { stop_reason?: unknown } | undefined)?.stop_reason;
        if (typeof reason === 'string') this.finishReason = ANTHROPIC_FINISH[reason] ?? 'other';
        return [];
      }
      default:
        return [];
    }
  }

  /**
   * Reads one LangChain `AIMessageChunk` (from `model.stream()`): string or text-part `content`,
   * `reasoning`/`thinking` content parts, `tool_call_chunks` (or whole `tool_calls`), and
   * `response_metadata.finish_reason`.
   */
  langChain(chunk: LangChainMessageChunk): UIMessageChunk[] {
    const parts: UIMessageChunk[] = [];
    const { content } = chunk;
    if (typeof content === 'string') parts.push(...this.text(content));
    else if (content !== undefined) {
      for (const part of content) {
        if (part.type === 'text' && typeof part.text === 'string')
          parts.push(...this.text(part.text));
        const thought = part.reasoning ?? part.thinking;
        if ((part.type === 'reasoning' || part.type === 'thinking') && typeof thought === 'string')
          parts.push(...this.reasoning(thought));
      }
    }
    const pieces = chunk.tool_call_chunks ?? [];
    // Some models (and LangChain's fakes) hand over whole calls in `tool_calls` only.
    if (pieces.length === 0) {
      for (const call of chunk.tool_calls ?? []) {
        if (typeof call.id !== 'string' || call.id === '' || this.pending.has(call.id)) continue;
        parts.push(...this.toolInputStart(call.id, call.name ?? ''));
        parts.push(...this.toolInputDelta(call.id, JSON.stringify(call.args ?? {})));
      }
    }
    for (const call of pieces) {
      const key = `l${call.index ?? 0}`;
      let id = this.byIndex.get(key);
      if (id === undefined && typeof call.id === 'string' && call.id !== '') {
        id = call.id;
        this.byIndex.set(key, id);
        parts.push(...this.toolInputStart(id, call.name ?? ''));
      }
      if (id !== undefined && typeof call.args === 'string')
        parts.push(...this.toolInputDelta(id, call.args));
    }
    const finish = chunk.response_metadata?.finish_reason;
    if (typeof finish === 'string')
      this.finishReason = OPENAI_FINISH[finish] ?? ANTHROPIC_FINISH[finish] ?? 'other';
    return parts;
  }

  private delta(kind: 'text' | 'reasoning', delta: string): UIMessageChunk[] {
    if (delta === '') return [];
    const parts: UIMessageChunk[] = [];
    if (this.open?.kind !== kind) {
      parts.push(...this.close());
      if (this.pending.size > 0) parts.push(...this.toolInputEnd());
      this.open = { kind, id: `${kind === 'text' ? 't' : 'r'}${++this.counter}` };
      parts.push({ type: `${kind}-start`, id: this.open.id });
    }
    parts.push({ type: `${kind}-delta`, id: this.open.id, delta });
    return parts;
  }

  private close(): UIMessageChunk[] {
    const open = this.open;
    if (open === undefined) return [];
    this.open = undefined;
    return [{ type: `${open.kind}-end`, id: open.id }];
  }

  private dynamicFlag(): { dynamic?: boolean } {
    return this.dynamic ? { dynamic: true } : {};
  }
}

/** The fields of a chat-completions choice that {@link UIMessageParts.openAI} reads. */
interface OpenAIChoice {
  delta?: {
    content?: string | null;
    reasoning_content?: unknown;
    reasoning?: unknown;
    tool_calls?: Array<{
      index?: number;
      id?: string;
      function?: { name?: string; arguments?: string };
    }>;
  } | null;
  finish_reason?: string | null;
}

/** The fields of a Responses API event that {@link UIMessageParts.openAI} reads. */
interface OpenAIResponseEventFull {
  type: string;
  delta?: unknown;
  item_id?: unknown;
  item?: { type?: string; id?: string; call_id?: string; name?: string };
}

/** The fields of an Anthropic event that {@link UIMessageParts.anthropic} reads. */
interface AnthropicEventFull {
  type: string;
  index?: number;
  delta?: unknown;
  content_block?: { type?: string; id?: string; name?: string };
}

/**
 * The part of a LangChain `AIMessageChunk` that {@link UIMessageParts.langChain} reads: what
 * `model.stream()` yields.
 *
 * @example A chunk with a tool call
 * ```ts
 * import type { LangChainMessageChunk } from 'ssekit';
 *
 * const chunk: LangChainMessageChunk = {
 *   content: '',
 *   tool_call_chunks: [{ id: 'call_1', name: 'search', args: '{"q":"sse"}', index: 0 }],
 * };
 * ```
 */
export interface LangChainMessageChunk {
  /** A string, or content parts (`{ type: 'text', text }`, `{ type: 'reasoning', reasoning }`). */
  readonly content?:
    | string
    | ReadonlyArray<{
        /** The part's type: `text`, `reasoning`, `thinking`, … */
        readonly type?: string;
        /** The text of a `text` part. */
        readonly text?: unknown;
        /** The text of a `reasoning` part. */
        readonly reasoning?: unknown;
        /** The text of a `thinking` part (Anthropic through LangChain). */
        readonly thinking?: unknown;
      }>
    | undefined;
  /** Pieces of tool calls, in order; the first piece of a call has its `id` and `name`. */
  readonly tool_call_chunks?:
    | ReadonlyArray<{
        /** The call's id (on its first piece). */
        readonly id?: string | undefined;
        /** The tool's name (on its first piece). */
        readonly name?: string | undefined;
        /** A piece of the JSON input. */
        readonly args?: string | undefined;
        /** Which call of the message the piece belongs to. */
        readonly index?: number | undefined;
      }>
    | undefined;
  /** Whole tool calls, read when the chunk has no `tool_call_chunks`. */
  readonly tool_calls?:
    | ReadonlyArray<{
        /** The call's id. */
        readonly id?: string | undefined;
        /** The tool's name. */
        readonly name?: string | undefined;
        /** The parsed input. */
        readonly args?: unknown;
      }>
    | undefined;
  /** The provider's metadata; `finish_reason` is read when present. */
  readonly response_metadata?:
    | {
        /** `stop`, `length`, `tool_calls`, `end_turn`, … as the provider names it. */
        readonly finish_reason?: unknown;
      }
    | undefined;
}

async function* convert<T>(
  stream: AsyncIterable<T>,
  read: (parts: UIMessageParts, item: T) => UIMessageChunk[],
  options: UIMessagePartsOptions,
): AsyncGenerator<UIMessageChunk, void, undefined> {
  const parts = new UIMessageParts(options);
  yield* parts.start();
  yield* parts.startStep();
  for await (const item of stream) yield* read(parts, item);
  yield* parts.finish();
}

/**
 * Turns an OpenAI stream (chat-completions chunks or Responses API events) into a whole UI
 * message: `start`, text, reasoning and tool-input parts, `finish`. Return it from an endpoint
 * with {@link uiMessageStream}'s options.
 *
 * @example Chat completions to useChat
 * ```ts
 * import OpenAI from 'openai';
 * import { openAIUIMessages, uiMessageStream } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * const client = new OpenAI();
 * export const chat = sse(async (writer) => {
 *   const stream = await client.chat.completions.create(
 *     { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true },
 *     { signal: writer.signal },
 *   );
 *   return openAIUIMessages(stream);
 * }, uiMessageStream());
 * ```
 */
export function openAIUIMessages(
  stream: AsyncIterable<OpenAIStreamItem>,
  options: UIMessagePartsOptions = {},
): AsyncGenerator<UIMessageChunk, void, undefined> {
  return convert(stream, (parts, item) => parts.openAI(item), options);
}

/**
 * Turns an Anthropic Messages stream into a whole UI message: text, thinking (as reasoning) and
 * tool-use parts between `start` and `finish`.
 *
 * @example Claude to useChat
 * ```ts
 * import Anthropic from '@anthropic-ai/sdk';
 * import { anthropicUIMessages, uiMessageStream } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * const client = new Anthropic();
 * export const chat = sse(async (writer) => {
 *   const stream = await client.messages.create(
 *     { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }], stream: true },
 *     { signal: writer.signal },
 *   );
 *   return anthropicUIMessages(stream);
 * }, uiMessageStream());
 * ```
 */
export function anthropicUIMessages(
  stream: AsyncIterable<AnthropicStreamEvent>,
  options: UIMessagePartsOptions = {},
): AsyncGenerator<UIMessageChunk, void, undefined> {
  return convert(stream, (parts, event) => parts.anthropic(event), options);
}

/**
 * Turns a LangChain chat model's stream (`model.stream(messages, { signal })`) into a whole UI
 * message: text, reasoning and tool-call parts between `start` and `finish`.
 *
 * @example A LangChain model to useChat
 * ```ts
 * import { ChatOpenAI } from '@langchain/openai';
 * import { langChainUIMessages, uiMessageStream } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * const model = new ChatOpenAI({ model: 'gpt-4o-mini' });
 * export const chat = sse(
 *   async (writer) => langChainUIMessages(await model.stream('Hi', { signal: writer.signal })),
 *   uiMessageStream(),
 * );
 * ```
 */
export function langChainUIMessages(
  stream: AsyncIterable<LangChainMessageChunk>,
  options: UIMessagePartsOptions = {},
): AsyncGenerator<UIMessageChunk, void, undefined> {
  return convert(stream, (parts, chunk) => parts.langChain(chunk), options);
}

/**
 * Answers the AI SDK's reconnect (`useChat({ resume: true })`, `DefaultChatTransport`'s
 * `reconnectToStream`: a `GET` to `<api>/<chatId>/stream`, with no cursor) on resumable streams:
 * the running generation replayed from its first part, or `204` when none is running, as the AI
 * SDK expects ("no active stream"). A request that carries a cursor (`Last-Event-ID`, from
 * `ssekit/client`) is answered as {@link Resumable.resume} answers it: the parts after the
 * cursor, a reset, or `204` once read to its end.
 *
 * @example The resume route of a useChat endpoint on Express
 * ```ts
 * import express from 'express';
 * import { resumeUIMessageStream, uiMessageStream, uiMessageStreamHeaders } from 'ssekit';
 * import { sendSse } from 'ssekit/express';
 * import { createResumable, cursorFrom } from 'ssekit/resume';
 *
 * const chats = createResumable({ resumeUrl: (id) => `/api/chat/${id}/stream` });
 * const app = express();
 * app.get('/api/chat/:id/stream', async (req, res, next) => {
 *   const cursor = cursorFrom(req.headers, req.url);
 *   const reply = await resumeUIMessageStream(chats, req.params.id, { cursor });
 *   res.status(reply.status).set(reply.headers).set(uiMessageStreamHeaders);
 *   if (reply.source === undefined) return void res.end();
 *   await sendSse(res, reply.source, uiMessageStream()).catch(next);
 * });
 * ```
 */
export async function resumeUIMessageStream(
  resumable: Resumable,
  streamId: string,
  options: ResumeOptions = {},
): Promise<ResumeReply> {
  if (options.cursor === undefined || options.cursor === null || options.cursor === '') {
    const meta = await resumable.store.meta(streamId);
    if (meta?.state !== 'live')
      return { status: 204, headers: {}, source: undefined, gen: meta?.gen };
  }
  return resumable.resume(streamId, options);
}
