/**
 * The demo's AI SDK chat (`POST /api/ui-chat`, `GET /api/ui-chat/:id/stream`), framework-neutral:
 * the UI message stream of {@link uiChat} runs as a resumable generation under the chat's id (the
 * `id` of the body `DefaultChatTransport` sends), so `useChat({ resume: true })` can reconnect
 * (replay while it runs, `204` after) and `ssekit/client` can resume from its `Last-Event-ID`.
 * @module
 */
import type { SseOptions } from 'ssekit';
import { createResumable, type Resumable, type ResumeStore } from 'ssekit/resume';
import { uiChat, uiChatOptions, uiPromptOf } from './endpoints.js';
import type { Llm } from './llm.js';

/** The resume route of a UI chat: sent as `SSEKit-Resume-URL`, and where the AI SDK reconnects. */
export const uiChatStreamPath = (id: string): string =>
  `/api/ui-chat/${encodeURIComponent(id)}/stream`;

/** The UI chats of one app, on the app's store. */
export function createUiChats(store: ResumeStore): Resumable {
  return createResumable({ store, resumeUrl: uiChatStreamPath, continueForMs: 60_000 });
}

/** The chat id of an AI SDK request body (`{ id, messages, … }`); a fresh one when absent. */
export function uiChatIdOf(body: unknown): string {
  const id = (body as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' && /^[\w-]{1,64}$/.test(id) ? id : crypto.randomUUID();
}

/** Starts (or joins) the UI chat of a request body: what `POST /api/ui-chat` answers. */
export function startUiChat(chats: Resumable, llm: Llm, body: unknown) {
  const prompt = uiPromptOf(body);
  return chats.start(uiChatIdOf(body), (writer) => uiChat(llm, prompt, writer.signal));
}

/** The UI chat routes' stream options: `data: [DONE]`, masked error parts. */
export const uiChatStreamOptions: SseOptions = uiChatOptions;
