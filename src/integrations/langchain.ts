/**
 * A LangChain.js callback handler that streams a run through an ssekit writer: tokens as data
 * events, the end and errors of model calls, and agent, tool and retriever steps as named events,
 * or whatever the endpoint's own `map` makes of them.
 * Typed structurally, so `@langchain/core` is never a dependency of ssekit.
 * @module
 */
import { SseError } from '../errors.js';
import { formatFields } from '../format.js';
import { isSseEvent } from '../options.js';
import type { SseWriter } from '../stream.js';

/**
 * What each callback sends, keyed by the name used in {@link LangChainEventNames}. Payloads other
 * than tokens are sent as compact JSON.
 *
 * @example Reading the events in a browser
 * ```ts
 * import type { LangChainEventData } from 'ssekit';
 *
 * const source = new EventSource('/chat?prompt=Hi');
 * source.addEventListener('tool_end', (event) => {
 *   const { tool, output } = JSON.parse(event.data) as LangChainEventData['toolEnd'];
 *   console.log(tool, output);
 * });
 * ```
 */
export interface LangChainEventData {
  /** `handleLLMNewToken`: the token text, as an unnamed event (or the endpoint's `event`). Empty tokens are skipped. */
  token: string;
  /** `handleLLMEnd`: the first generation's text. Default name `llm_end`. */
  llmEnd: {
    /** The text. */
    text: string;
  };
  /** `handleLLMError`. Default name `llm_error`. */
  llmError: {
    /** The error's message, or a generic text unless `exposeErrors` is set. */
    error: string;
  };
  /** `handleChainError`, for the outermost run only (nested runs report the same error). Default name `chain_error`. */
  chainError: {
    /** The error's message, or a generic text unless `exposeErrors` is set. */
    error: string;
  };
  /** `handleAgentAction`: the tool an agent picked, its input and the model's reasoning. Default name `agent_action`. */
  agentAction: {
    /** The tool's name. */
    tool: string;
    /** The tool's input. */
    input: unknown;
    /** The model's reasoning, as LangChain logs it. */
    log: string;
  };
  /** `handleAgentEnd`: `returnValues.output` (or all of `returnValues` when it has none) and the log. Default name `agent_end`. */
  agentEnd: {
    /** The output. */
    output: unknown;
    /** The model's reasoning, as LangChain logs it. */
    log: string;
  };
  /** `handleToolStart`: the tool's name and its input as LangChain passes it (a string, JSON for structured tools). Default name `tool_start`. */
  toolStart: {
    /** The tool's name. */
    tool: string;
    /** The tool's input. */
    input: string;
  };
  /** `handleToolEnd`: the tool's output (a `ToolMessage`'s `content`). Default name `tool_end`. */
  toolEnd: {
    /** The tool's name. */
    tool: string;
    /** The output. */
    output: unknown;
  };
  /** `handleToolError`. Default name `tool_error`. */
  toolError: {
    /** The tool's name. */
    tool: string;
    /** The error's message, or a generic text unless `exposeErrors` is set. */
    error: string;
  };
  /**
   * `handleChainEnd`, for the outermost run only: the chain's outputs as LangChain passes them
   * (a chain that returns a string gives `{ output: text }`). Sent only when named in
   * `events` or read in `map` (its `name` there is `chain_end`): a chain's output often repeats
   * the tokens already sent.
   */
  chainEnd: {
    /** The outputs. */
    outputs: Record<string, unknown>;
  };
  /** `handleRetrieverEnd`: the documents found (lanarky's `source_documents`). Default name `retriever_end`. */
  retrieverEnd: {
    /** The documents, as the retriever returned them. */
    documents: Array<{
      /** The document's text. */
      pageContent: string;
      /** The document's metadata (its source, for example). */
      metadata: Record<string, unknown>;
    }>;
  };
}

/**
 * The event name of each callback: a string, or `false` to send nothing for it. Tokens without a
 * name are sent with the endpoint's `event` option (by default, as `message` events).
 *
 * @example The agent vocabulary, without model ends
 * ```ts
 * import type { LangChainEventNames } from 'ssekit';
 *
 * const events: LangChainEventNames = { toolStart: 'action', toolEnd: 'observation', llmEnd: false };
 * ```
 */
export type LangChainEventNames = { [K in keyof LangChainEventData]?: string | false | undefined };

/**
 * One callback, as the `map` option of {@link langChainHandler} receives it: which callback
 * (`type`), what it carries (`data`, see {@link LangChainEventData}) and the event name it would
 * be sent with (`name`, `undefined` for tokens).
 *
 * @example lanarky's token and source_documents chunks
 * ```ts
 * import type { LangChainEvent } from 'ssekit';
 *
 * const lanarky = (event: LangChainEvent) => {
 *   if (event.type === 'token') return { token: event.data };
 *   if (event.type === 'retrieverEnd') {
 *     const documents = event.data.documents;
 *     return { source_documents: documents.map((d) => ({ page_content: d.pageContent, metadata: d.metadata })) };
 *   }
 *   return undefined; // nothing for the other callbacks
 * };
 * ```
 */
export type LangChainEvent = {
  [K in keyof LangChainEventData]: {
    /** The callback, by its key in {@link LangChainEventData}. */
    readonly type: K;
    /** What the callback carries. */
    readonly data: LangChainEventData[K];
    /** The event name from `events` or the defaults; `undefined` for unnamed (token) events. */
    readonly name: string | undefined;
  };
}[keyof LangChainEventData];

/**
 * Options of {@link langChainHandler}.
 *
 * @example Showing error messages in development
 * ```ts
 * import { langChainHandler, type LangChainHandlerOptions, type SseWriter } from 'ssekit';
 *
 * declare const writer: SseWriter;
 * const options: LangChainHandlerOptions = { exposeErrors: process.env.NODE_ENV !== 'production' };
 * const handler = langChainHandler(writer, options);
 * ```
 */
export interface LangChainHandlerOptions {
  /**
   * Event names replacing the defaults, e.g. `{ toolStart: 'action', toolEnd: 'observation' }`
   * for the agent vocabulary, or `{ llmEnd: false }`. `false` sends nothing for that callback,
   * and `map` does not see it either.
   * @defaultValue the names listed on {@link LangChainEventData}
   */
  events?: LangChainEventNames | undefined;
  /**
   * Turns each callback's {@link LangChainEvent} into what the endpoint sends: data (sent as an
   * unnamed event, so with the endpoint's `event` name), an `sseEvent(data, { event })`, or
   * `undefined` to send nothing. Every callback reaches it, `chainEnd` included, except those set
   * to `false` in `events`; `event.name` is the name the event would have had without `map`.
   * What it throws, and what the endpoint's format refuses, ends the stream with its error event.
   * @defaultValue each event's data, sent with `event.name`
   */
  map?: ((event: LangChainEvent) => unknown) | undefined;
  /**
   * Whether error events carry the error's message. Off by default: messages can hold prompts,
   * keys or internal URLs, and the client only learns that something failed.
   * @defaultValue `false` (the text is `'Internal Server Error'`)
   */
  exposeErrors?: boolean | undefined;
}

/**
 * The part of a LangChain `Serialized` tool description that ssekit reads.
 *
 * @example A tool's description as LangChain passes it
 * ```ts
 * import type { LangChainSerialized } from 'ssekit';
 *
 * const tool: LangChainSerialized = { id: ['langchain', 'tools', 'DynamicStructuredTool'] };
 * ```
 */
export interface LangChainSerialized {
  /** The class path, e.g. `['langchain', 'tools', 'DynamicStructuredTool']`. */
  id?: readonly string[];
  /** The tool's name, when LangChain includes it. */
  name?: string;
}

/**
 * The LangChain callback handler {@link langChainHandler} makes: a plain object of callback
 * methods, which `@langchain/core` wraps with `BaseCallbackHandler.fromMethods`.
 *
 * @example One handler for a whole run
 * ```ts
 * import type { LangChainHandler } from 'ssekit';
 *
 * declare const handler: LangChainHandler;
 * declare const chain: { invoke(input: string, config: object): Promise<unknown> };
 * await chain.invoke('Hi', { callbacks: [handler] });
 * ```
 */
export interface LangChainHandler {
  /**
   * LangChain awaits each callback (and so the writer's backpressure) instead of queueing it to
   * run after the call has returned, when the stream may be closed.
   */
  readonly awaitHandlers: true;
  /**
   * The handler never throws: an event it cannot send fails the stream itself (see
   * {@link SseWriter.fail}), since LangChain would only log the throw and carry on, and some
   * models call `handleLLMNewToken` without awaiting it (a rejection nobody handles).
   */
  readonly raiseError: false;
  /** Makes `invoke()` stream from models that can, so tokens arrive one by one. */
  readonly lc_prefer_streaming: true;
  /** Sends a token. */
  handleLLMNewToken(token: string): Promise<void>;
  /** Sends `llmEnd`. */
  handleLLMEnd(output: {
    generations: ReadonlyArray<ReadonlyArray<{ text: string }>>;
  }): Promise<void>;
  /** Sends `llmError`. */
  handleLLMError(error: unknown): Promise<void>;
  /** Sends `chainError` for the outermost run. */
  handleChainError(error: unknown, runId: string, parentRunId?: string): Promise<void>;
  /** Sends `chainEnd` for the outermost run. */
  handleChainEnd(
    outputs: Record<string, unknown>,
    runId: string,
    parentRunId?: string,
  ): Promise<void>;
  /** Sends `agentAction`. */
  handleAgentAction(action: { tool: string; toolInput: unknown; log: string }): Promise<void>;
  /** Sends `agentEnd`. */
  handleAgentEnd(finish: { returnValues: Record<string, unknown>; log: string }): Promise<void>;
  /** Sends `toolStart`. */
  handleToolStart(
    tool: LangChainSerialized,
    input: string,
    runId: string,
    parentRunId?: string,
    tags?: string[],
    metadata?: Record<string, unknown>,
    runName?: string,
  ): Promise<void>;
  /** Sends `toolEnd`. */
  handleToolEnd(output: unknown, runId: string): Promise<void>;
  /** Sends `toolError`. */
  handleToolError(error: unknown, runId: string): Promise<void>;
  /** Sends `retrieverEnd`. */
  handleRetrieverEnd(
    documents: ReadonlyArray<{ pageContent: string; metadata: Record<string, unknown> }>,
  ): Promise<void>;
}

const DEFAULT_NAMES: Required<LangChainEventNames> = {
  token: undefined,
  llmEnd: 'llm_end',
  llmError: 'llm_error',
  chainError: 'chain_error',
  chainEnd: 'chain_end',
  agentAction: 'agent_action',
  agentEnd: 'agent_end',
  toolStart: 'tool_start',
  toolEnd: 'tool_end',
  toolError: 'tool_error',
  retrieverEnd: 'retriever_end',
};

const RESOLVED = Promise.resolve();

function contentOf(output: unknown): unknown {
  // Tools called with a tool call return a ToolMessage; its JSON is LangChain's serialisation
  // envelope (`{ lc, type, id, kwargs }`), so send what the model will read instead.
  if (typeof output === 'object' && output !== null && 'content' in output) {
    return output.content;
  }
  return output;
}

/**
 * Makes a LangChain.js callback handler that streams a run through `writer`: tokens as data
 * events, and the end and errors of model calls, agent actions and ends, tool starts, ends and
 * errors and retriever results as named events (see {@link LangChainEventData}), or what `map`
 * makes of each. Pass it in `callbacks` with `signal: writer.signal`, so a client that goes away
 * stops the run.
 *
 * The handler carries what LangChain needs to stream through it (`awaitHandlers`, so a slow
 * client slows the model down instead of filling memory, and `lc_prefer_streaming`, so
 * `invoke()` streams token by token from models that can). When the run fails, the handler's
 * error events are followed by the endpoint's own error event (the awaited call rejects): set the
 * endpoint's `errorEvent: false`, or these events to `false`, to send one. An event that cannot
 * be sent (a `"\n"` token in a line-based custom format, a `map` that throws) ends the stream
 * with the endpoint's error event and reaches `onError`, and the run is aborted through
 * `writer.signal`: nothing after it is sent.
 *
 * @throws {@link SseError} `INVALID_EVENT` or `INVALID_OPTION` at once for a bad event name or `map`.
 *
 * @example Streaming a chat model's answer
 * ```ts
 * import { ChatOpenAI } from '@langchain/openai';
 * import { langChainHandler } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * const model = new ChatOpenAI({ model: 'gpt-4o-mini' });
 * export const chat = sse(
 *   async (writer) => {
 *     await model.invoke('Tell me a joke', {
 *       callbacks: [langChainHandler(writer, { events: { llmEnd: false } })],
 *       signal: writer.signal,
 *     });
 *   },
 *   { done: { event: 'done', data: '' } },
 * );
 * ```
 *
 * @example lanarky's output: token chunks, then the source documents
 * ```ts
 * import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
 * import type { BaseRetriever } from '@langchain/core/retrievers';
 * import { customFormat, langChainHandler } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * declare const model: BaseChatModel;
 * declare const retriever: BaseRetriever;
 * export const qa = sse(
 *   async (writer) => {
 *     const handler = langChainHandler(writer, {
 *       map: (event) => {
 *         if (event.type === 'token') return { token: event.data };
 *         if (event.type !== 'retrieverEnd') return undefined;
 *         const documents = event.data.documents.map((d) => ({ page_content: d.pageContent, metadata: d.metadata }));
 *         return { source_documents: documents };
 *       },
 *     });
 *     const config = { callbacks: [handler], signal: writer.signal };
 *     const documents = await retriever.invoke('What is SSE?', config);
 *     await model.invoke(`Answer from: ${documents.map((d) => d.pageContent).join('\n')}`, config);
 *   },
 *   { format: customFormat({ prefix: 'data: ', suffix: '\n\n', contentType: 'text/event-stream' }) },
 * );
 * ```
 */
export function langChainHandler(
  writer: SseWriter,
  options: LangChainHandlerOptions = {},
): LangChainHandler {
  const { events = {}, exposeErrors = false, map } = options;
  if (map !== undefined && typeof map !== 'function') {
    throw new SseError('INVALID_OPTION', `\`map\` must be a function, received ${typeof map}`, {
      field: 'map',
    });
  }
  const names = { ...DEFAULT_NAMES };
  // A chain's outputs mostly repeat its tokens: sent only when asked for, by name or by `map`.
  if (map === undefined) names.chainEnd = false;
  for (const key of Object.keys(events) as Array<keyof LangChainEventData>) {
    if (!(key in DEFAULT_NAMES)) {
      throw new SseError('INVALID_OPTION', `\`events.${key}\` is not a LangChain event`, {
        field: `events.${key}`,
      });
    }
    const name = events[key];
    if (name === undefined) continue;
    if (name !== false && typeof name !== 'string') {
      throw new SseError(
        'INVALID_OPTION',
        `\`events.${key}\` must be a string or false, received ${typeof name}`,
        { field: `events.${key}` },
      );
    }
    if (name !== false) formatFields({ event: name }); // throws INVALID_EVENT now
    names[key] = name;
  }

  function send<K extends keyof LangChainEventData>(
    type: K,
    data: LangChainEventData[K],
  ): Promise<void> {
    const name = names[type];
    if (name === false || writer.closed) return RESOLVED;
    // LangChain catches what a callback throws and only logs it (raiseError) or, for callbacks it
    // does not await, leaves it unhandled: either way the event would vanish from the answer. So
    // the handler never throws; it ends the stream with the error instead.
    try {
      if (map === undefined) {
        return name === undefined ? writer.send(data) : writer.send(data, { event: name });
      }
      const value = map({ type, data, name } as LangChainEvent);
      if (value === undefined) return RESOLVED;
      return isSseEvent(value) ? writer.send(value.data, value) : writer.send(value);
    } catch (error) {
      writer.fail(error);
      return RESOLVED;
    }
  }
  const errorText = (error: unknown): string =>
    exposeErrors
      ? error instanceof Error
        ? error.message
        : String(error)
      : 'Internal Server Error';
  const tools = new Map<string, string>();
  const toolName = (runId: string): string => {
    const name = tools.get(runId) ?? 'unknown';
    tools.delete(runId);
    return name;
  };

  return {
    awaitHandlers: true,
    raiseError: false,
    lc_prefer_streaming: true,
    handleLLMNewToken: (token) => (token === '' ? RESOLVED : send('token', token)),
    handleLLMEnd: (output) => send('llmEnd', { text: output.generations[0]?.[0]?.text ?? '' }),
    handleLLMError: (error) => send('llmError', { error: errorText(error) }),
    handleChainError: (error, _runId, parentRunId) =>
      parentRunId === undefined ? send('chainError', { error: errorText(error) }) : RESOLVED,
    handleChainEnd: (outputs, _runId, parentRunId) =>
      parentRunId === undefined ? send('chainEnd', { outputs }) : RESOLVED,
    handleAgentAction: (action) =>
      send('agentAction', { tool: action.tool, input: action.toolInput, log: action.log }),
    handleAgentEnd: (finish) =>
      send('agentEnd', {
        output:
          'output' in finish.returnValues ? finish.returnValues['output'] : finish.returnValues,
        log: finish.log,
      }),
    handleToolStart(tool, input, runId, _parentRunId, _tags, _metadata, runName) {
      const name = runName ?? tool.name ?? tool.id?.at(-1) ?? 'unknown';
      tools.set(runId, name);
      return send('toolStart', { tool: name, input });
    },
    handleToolEnd: (output, runId) =>
      send('toolEnd', { tool: toolName(runId), output: contentOf(output) }),
    handleToolError: (error, runId) =>
      send('toolError', { tool: toolName(runId), error: errorText(error) }),
    handleRetrieverEnd: (documents) =>
      send('retrieverEnd', {
        documents: documents.map(({ pageContent, metadata }) => ({ pageContent, metadata })),
      }),
  };
}
