/**
 * Test helpers for the demo: start the emulator and one app, read SSE with someone else's parser.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { type Framework, startDemo } from '../../demo/apps/index.js';
import { type Emulator, startEmulator } from '../../demo/emulator.js';
import { createLlm } from '../../demo/llm.js';
import type { DemoServer } from '../../demo/serve.js';

export const frameworks: readonly Framework[] = ['express', 'koa', 'hono'];

/** An emulator and one demo app in front of it, both on port 0. */
export interface Stack {
  emulator: Emulator;
  demo: DemoServer;
  close(): Promise<void>;
}

/** Starts the emulator (no pacing unless given) and `framework`'s demo app. */
export async function startStack(
  framework: Framework,
  tokenDelay: number | [number, number] = 0,
): Promise<Stack> {
  const emulator = await startEmulator({ tokenDelay });
  // An empty env: the tests always use the emulator, whatever the shell exports.
  const demo = await startDemo[framework](createLlm(emulator.baseURL, {}));
  return {
    emulator,
    demo,
    async close() {
      await demo.close();
      await emulator.close();
    },
  };
}

/** Parses a whole SSE body with eventsource-parser. */
export function parseSse(body: string): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  parser.feed(body);
  return events;
}

/** POSTs JSON. */
export function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    ...init,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}
