/**
 * The three demo apps by framework name: `main.ts` starts them all, tests run the same checks
 * against each. Each app is loaded when it is first started.
 * @module
 */
import type { ResumeStore } from 'ssekit/resume';
import type { Llm } from '../llm.js';
import type { DemoServer } from '../serve.js';

/** The framework names, in the order the demo prints them. */
export type Framework = 'express' | 'koa' | 'hono';

/**
 * Starts one demo app on 127.0.0.1: `(llm, port?, store?) => DemoServer` (port 0 picks a free
 * one; the resumable chats live in `store`, by default a memory store of the app's own).
 */
export const startDemo: Record<
  Framework,
  (llm: Llm, port?: number, store?: ResumeStore) => Promise<DemoServer>
> = {
  express: async (llm, port, store) =>
    (await import('./express.js')).startExpressDemo(llm, port, store),
  koa: async (llm, port, store) => (await import('./koa.js')).startKoaDemo(llm, port, store),
  hono: async (llm, port, store) => (await import('./hono.js')).startHonoDemo(llm, port, store),
};
