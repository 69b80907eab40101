/**
 * An AI SDK `ChatTransport` on `ssekit/client`: `useChat` with ssekit's resume, so an answer cut
 * mid-stream continues from its `Last-Event-ID` instead of stopping (the AI SDK's own transport
 * never reconnects in the middle of an answer).
 * @module
 */
import type { UIMessageChunk } from '../integrations/ai-sdk.js';
import { connect, type ReconnectInfo, type ResumeOptions, type SseStream } from './connect.js';
import { SseClientError } from './errors.js';

/** Options of {@link chatTransport}. */
export interface ChatTransportOptions {
  /** The chat route: `POST` starts an answer; `GET <api>/<chatId>/stream` replays a running one. */
  api: string;
  /** Headers of every request (e.g. `Authorization`), or a function that makes them each time. */
  headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>) | undefined;
  /** Extra JSON fields sent with every `POST`, beside `id`, `messages`, `trigger`, `messageId`. */
  body?: Record<string, unknown> | undefined;
  /** The fetch `credentials` mode. @defaultValue the runtime's (`'same-origin'`) */
  credentials?: RequestCredentials | undefined;
  /** The `fetch` to use. @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch | undefined;
  /** Reconnects after a cut, as `connect()`'s `resume`. @defaultValue `{}` */
  resume?: ResumeOptions | false | undefined;
  /** Called before each mid-answer reconnect. */
  onReconnect?: ((info: ReconnectInfo) => void) | undefined;
}

/** What the AI SDK passes to `sendMessages` (the fields this transport reads). */
export interface ChatSendOptions {
  /** The chat's id, sent as `id`. */
  chatId: string;
  /** The conversation, sent as `messages`. */
  messages: unknown[];
  /** `'submit-message'` or `'regenerate-message'`. */
  trigger: string;
  /** The message to regenerate, if any. */
  messageId: string | undefined;
  /** Aborts the request (`stop()`). */
  abortSignal: AbortSignal | undefined;
  /** Headers of this request. */
  headers?: Record<string, string> | Headers | undefined;
  /** Extra JSON fields of this request. */
  body?: object | undefined;
}

/** What the AI SDK passes to `reconnectToStream` (the fields this transport reads). */
export interface ChatReconnectOptions {
  /** The chat's id. */
  chatId: string;
  /** Aborts the request. */
  abortSignal?: AbortSignal | undefined;
  /** Headers of this request. */
  headers?: Record<string, string> | Headers | undefined;
}

/** The transport: structurally the AI SDK's `ChatTransport` (checked against `ai` 7.0.173). */
export interface SseChatTransport {
  /** A reconnect replays the running answer from its start, as the AI SDK expects. */
  readonly resumeStreamIsReplay: true;
  /** Sends the conversation; the answer's parts, resumed after a cut. */
  sendMessages(options: ChatSendOptions): Promise<ReadableStream<UIMessageChunk>>;
  /** Replays the chat's running answer; `null` when none runs (`204`). */
  reconnectToStream(options: ChatReconnectOptions): Promise<ReadableStream<UIMessageChunk> | null>;
}

type Parts = { message: UIMessageChunk };

/**
 * Makes an AI SDK `ChatTransport` for `useChat` on an ssekit UI message stream route (e.g. one
 * built with `uiMessageStream()` and `resumeUIMessageStream()`): the `POST` body is the one
 * `DefaultChatTransport` sends, and a cut answer is resumed with `GET` and `Last-Event-ID` while
 * `useChat` keeps rendering it. `useChat({ resume: true })` reconnects with a full replay.
 * A server reset mid-answer (the parts cannot continue) errors the stream with `STREAM_CUT`.
 *
 * @throws {@link SseClientError} `INVALID_OPTION` for an `api` that is not a string.
 *
 * @example useChat with mid-answer resume
 * ```ts
 * import { useChat } from '@ai-sdk/react';
 * import { chatTransport } from 'ssekit/client';
 *
 * const transport = chatTransport({ api: '/api/ui-chat' });
 * export function useResumableChat() {
 *   return useChat({ transport, resume: true });
 * }
 * ```
 */
export function chatTransport(options: ChatTransportOptions): SseChatTransport {
  const { api } = options;
  if (typeof api !== 'string' || api === '') {
    throw new SseClientError('INVALID_OPTION', '`api` must be a non-empty string', {
      field: 'api',
    });
  }
  const headersFor = async (extra: ChatSendOptions['headers']): Promise<Headers> => {
    const base = typeof options.headers === 'function' ? await options.headers() : options.headers;
    const headers = new Headers(base);
    for (const [name, value] of new Headers(extra)) headers.set(name, value);
    return headers;
  };
  const common = {
    parse: 'json' as const,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.resume === undefined ? {} : { resume: options.resume }),
    ...(options.onReconnect === undefined ? {} : { onReconnect: options.onReconnect }),
  };
  return {
    resumeStreamIsReplay: true,
    async sendMessages(send) {
      const stream = connect<Parts>(api, {
        ...common,
        json: {
          ...options.body,
          ...send.body,
          id: send.chatId,
          messages: send.messages,
          trigger: send.trigger,
          messageId: send.messageId,
        },
        headers: await headersFor(send.headers),
        signal: send.abortSignal,
      });
      return (await partsOf(stream)) ?? new ReadableStream({ start: (c) => c.close() });
    },
    async reconnectToStream(reconnect) {
      const url = `${api.replace(/\/$/, '')}/${encodeURIComponent(reconnect.chatId)}/stream`;
      const stream = connect<Parts>(url, {
        ...common,
        headers: await headersFor(reconnect.headers),
        signal: reconnect.abortSignal,
      });
      return partsOf(stream);
    },
  };
}

/**
 * The parts of a stream as a `ReadableStream`, once its first part (or its end) is there: `null`
 * when it ended on `204` without one, as the AI SDK's `reconnectToStream` answers.
 */
async function partsOf(stream: SseStream<Parts>): Promise<ReadableStream<UIMessageChunk> | null> {
  const iterator = stream[Symbol.asyncIterator]();
  const part = (result: IteratorResult<unknown>): UIMessageChunk | undefined => {
    if (result.done) return undefined;
    const event = result.value as { event: string; data: unknown };
    if (event.event === 'ssekit.reset') {
      throw new SseClientError(
        'STREAM_CUT',
        `the server reset the answer (${String((event.data as { reason?: unknown }).reason)}); it cannot be continued`,
      );
    }
    return event.data as UIMessageChunk;
  };
  const first = part(await iterator.next());
  if (first === undefined && stream.outcome === 'no-content') return null;
  let pending = first;
  return new ReadableStream<UIMessageChunk>({
    async pull(controller) {
      try {
        const next = pending ?? part(await iterator.next());
        pending = undefined;
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await iterator.return?.();
    },
  });
}
