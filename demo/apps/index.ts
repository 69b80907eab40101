/**
 * The three demo apps by framework name: `main.ts` starts them all, tests run the same checks
 * against each. Each app is loaded when it is first started.
 * @module
 */
import type { Llm } from '../llm.js';
import type { DemoServer } from '../serve.js';

/** The framework names, in the order the demo prints them. */
export type Framework = 'express' | 'koa' | 'hono';

/** Starts one demo app on 127.0.0.1: `(llm, port?) => DemoServer` (port 0 picks a free one). */
export const startDemo: Record<Framework, (llm: Llm, port?: number) => Promise<DemoServer>> = {
  express: async (llm, port) => (await import('./express.js')).startExpressDemo(llm, port),
  koa: async (llm, port) => (await import('./koa.js')).startKoaDemo(llm, port),
  hono: async (llm, port) => (await import('./hono.js')).startHonoDemo(llm, port),
};
