/**
 * The demo's resumable chats, framework-neutral: the store (memory, or Redis when `REDIS_URL` is
 * set), the producer of one chat generation, and the stream options of its routes. The Express,
 * Koa and Hono apps wire these to `POST /api/chats/:id`, `GET /api/chats/:id/stream` and
 * `POST /api/chats/:id/stop`.
 * @module
 */
import type OpenAI from 'openai';
import type { Producer, SseOptions } from 'ssekit';
import {
  createResumable,
  memoryStore,
  type Resumable,
  type ResumeStore,
  type StartOptions,
} from 'ssekit/resume';
import { chatCompletion, tokenOf } from './endpoints.js';
import type { Llm } from './llm.js';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

/** Where the demo's chats are kept, and how to let it go. */
export interface ChatStore {
  /** The store every app of this process shares. */
  readonly store: ResumeStore;
  /** `'memory'` or `'redis'`, for the banner. */
  readonly kind: 'memory' | 'redis';
  /** Closes the store (and the Redis client the demo opened). */
  close(): Promise<void>;
}

interface RedisModule {
  redisStore(this: void, options: { client: unknown }): ResumeStore;
  fromNodeRedis(this: void, client: unknown): unknown;
}

/**
 * The chat store: the memory store, or with `REDIS_URL` the Redis store (`ssekit/redis`), so two
 * `npm start` processes on one Redis are two instances of one app. The Redis store and client are
 * imported only then: `npm start` needs no Redis.
 */
export async function createChatStore(env: NodeJS.ProcessEnv = process.env): Promise<ChatStore> {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') {
    const store = memoryStore();
    return { store, kind: 'memory', close: () => store.close() };
  }
  // A variable specifier: loaded at run time, only when asked for.
  const specifier = 'ssekit/redis';
  const { redisStore, fromNodeRedis } = (await import(specifier)) as RedisModule;
  const { createClient } = await import('redis');
  const client = createClient({ url });
  client.on('error', (error: unknown) => console.error('redis:', error));
  await client.connect();
  const store = redisStore({ client: fromNodeRedis(client) });
  return {
    store,
    kind: 'redis',
    async close() {
      await store.close();
      client.destroy();
    },
  };
}

/** The resume route of a chat: sent as `SSEKit-Resume-URL`. */
export const chatStreamPath = (id: string): string => `/api/chats/${encodeURIComponent(id)}/stream`;

/** One resumable set of chats on `store` (each app makes its own; they share the store). */
export function createChats(store: ResumeStore = memoryStore()): Resumable {
  return createResumable({ store, resumeUrl: chatStreamPath, continueForMs: 60_000 });
}

/** A chat generation: the completion's chunks (the writer's signal reaches the upstream call). */
export function chatGeneration(llm: Llm, prompt: string): Producer<Chunk> {
  return (writer) => chatCompletion(llm, prompt, writer.signal);
}

/** What a start passes: the tokens of the completion's chunks. */
export const chatStart = { map: tokenOf } satisfies StartOptions<Chunk>;

/**
 * The options of the chat routes: each token a data event (with its id), then `event: done`; the
 * stream toggle on the start route (`{"prompt","stream":false}` answers one JSON document).
 */
export const chatsOptions = {
  done: { event: 'done', data: '' },
  // A dropped EventSource reconnects (with its Last-Event-ID) after 1 s instead of its 3 s default.
  retry: 1000,
} satisfies SseOptions;

/** The start route's options: {@link chatsOptions} plus the stream toggle. */
export const chatsStartOptions = { ...chatsOptions, json: true } satisfies SseOptions;
