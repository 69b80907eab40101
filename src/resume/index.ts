/**
 * Resumable streams: a generation runs detached from any one response, its events go to a store
 * (the memory store by default, Redis for many instances) with ids `<gen>.<seq>`, and a reconnect
 * with `Last-Event-ID` (or a `cursor` query) continues it on any instance.
 * @module ssekit/resume
 */
export type {
  CreateInput,
  CreateResult,
  IfRunning,
  ReadBatch,
  ReadOptions,
  ReasonCode,
  RenewResult,
  ResumeStore,
  RetentionOptions,
  StoredEvent,
  StoreOptions,
  StreamEnd,
  StreamMeta,
  StreamState,
  TerminalState,
} from './store.js';
export {
  isGeneration,
  newGeneration,
  resolveStoreOptions,
  type StoreConfig,
  unref,
} from './config.js';
export { memoryStore } from './memory.js';
export { ReaderQueue } from './queue.js';
export {
  createResumable,
  cursorFrom,
  type ResetReason,
  type Resumable,
  type ResumableOptions,
  type ResumeOptions,
  type ResumeReply,
  type ResumeResult,
  type StartOptions,
} from './resumable.js';
