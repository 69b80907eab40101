/**
 * ssekit: Server-Sent Events for LLM output. The runtime-neutral core (Web APIs only): the wire
 * format, frame formats, the stream engine, and WHATWG stream helpers for fetch runtimes.
 *
 * Node servers use `ssekit/node`, `ssekit/express`, `ssekit/koa` or `ssekit/hono`.
 * @module ssekit
 */
export { isSseError, SseError, type SseErrorCode } from './errors.js';
export {
  type EventFields,
  formatComment,
  formatDataLines,
  formatEvent,
  formatFields,
  formatRetry,
  hasLineBreak,
  serializeData,
} from './format.js';
export {
  type CustomFormatOptions,
  customFormat,
  type FormatOption,
  type FrameFormat,
  ndjsonFormat,
  rawFormat,
  resolveFormat,
  sseFormat,
} from './frames.js';
export { streamHeaders } from './headers.js';
export {
  isSseBatch,
  isSseEvent,
  resolveOptions,
  type SseEvent,
  type SseEventInit,
  type SseBatch,
  sseBatch,
  sseEvent,
  type StreamConfig,
  type StreamOptions,
} from './options.js';
export {
  type CollectOptions,
  collectText,
  type Handler,
  isSource,
  type Producer,
  runStream,
  type FrameKind,
  type Source,
  type SseTransport,
  type StreamProbe,
  type SseWriter,
  type StreamRun,
} from './stream.js';
export { type SseResponseOptions, toSseResponse, toSseStream } from './web.js';
export {
  type DrainableProducer,
  type DrainOptions,
  type DrainResult,
  type DrainStatus,
  drain,
  drainStatus,
  isDraining,
  registerProducer,
  registerStream,
} from './drain.js';
export {
  admit,
  createLimiter,
  isRefusal,
  type LimiterOptions,
  type LimitReason,
  type Refusal,
  refusalHeaders,
  type RefusalResponse,
  type Release,
  type StreamLimiter,
} from './limits.js';
export {
  type EndReason,
  endReason,
  reportResume,
  type ResumeOutcome,
  type StreamLifecycle,
  type StreamStats,
} from './stats.js';
export {
  type Endpoint,
  type JsonDocument,
  type JsonToggleOptions,
  parseStreamFlag,
  resolveEndpoint,
  type SseOptions,
  streamRequested,
  type StreamToggle,
} from './toggle.js';
export { anthropicText, type AnthropicStreamEvent } from './integrations/anthropic.js';
export {
  type AgentEventFields,
  type AgentEventMap,
  type AgentEventNames,
  type AgentEvents,
  agentEvents,
} from './integrations/agent.js';
export {
  type LangChainEvent,
  type LangChainEventData,
  type LangChainEventNames,
  type LangChainHandler,
  langChainHandler,
  type LangChainHandlerOptions,
  type LangChainSerialized,
} from './integrations/langchain.js';
export {
  type OpenAIChatChunk,
  type OpenAIResponseEvent,
  type OpenAIStreamItem,
  openAIText,
} from './integrations/openai.js';
export {
  readSse,
  readSseData,
  type ReadSseDataOptions,
  type SseMessage,
} from './integrations/relay.js';
export {
  anthropicUIMessages,
  type LangChainMessageChunk,
  langChainUIMessages,
  openAIUIMessages,
  resumeUIMessageStream,
  type UIFinishReason,
  type UIMessageChunk,
  UIMessageParts,
  type UIMessagePartsOptions,
  uiMessageStream,
  uiMessageStreamHeaders,
  type UIMessageStreamOptions,
  type UIToolCall,
} from './integrations/ai-sdk.js';
