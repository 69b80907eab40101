/**
 * `ssekit/client`: streams a `POST` (or any request) as Server-Sent Events or NDJSON with `fetch`,
 * as an async iterable of typed events, and resumes a cut stream with `GET` and `Last-Event-ID`
 * (ssekit's resume wire contract) without re-sending the prompt. Runtime-neutral: browsers,
 * Node ≥ 20.19, Bun, Deno; Web APIs and `eventsource-parser` only.
 *
 * @example A chat answer, resumed if the connection drops
 * ```ts
 * import { connect } from 'ssekit/client';
 *
 * let answer = '';
 * for await (const event of connect('/api/chats/42', { json: { prompt: 'Hi' } })) {
 *   answer = event.event === 'ssekit.reset' ? '' : answer + event.data;
 * }
 * ```
 * @module ssekit/client
 */
export {
  type ClientEvent,
  type ClientOptions,
  type DefaultEvents,
  connect,
  type EventMap,
  type ReconnectInfo,
  type ResetEvent,
  type ResetReason,
  type ResumeOptions,
  type SseStream,
  type StreamOutcome,
} from './client/connect.js';
export type { ClientFormat, WireMessage } from './client/read.js';
export {
  type ChatReconnectOptions,
  type ChatSendOptions,
  chatTransport,
  type ChatTransportOptions,
  type SseChatTransport,
} from './client/chat-transport.js';
export {
  SseClientError,
  type SseClientErrorCode,
  type SseClientErrorDetails,
} from './client/errors.js';
export { isSseError } from './errors.js';
