/**
 * Starts the whole demo: the emulator (unless a real provider is configured) and the Express, Koa
 * and Hono apps, on 127.0.0.1; and the banner that says where to open them. `main.ts` runs it for
 * `npm start`; tests call it directly.
 * @module
 */
import { type Framework, startDemo } from './apps/index.js';
import { createChatStore } from './chats.js';
import { type Emulator, startEmulator } from './emulator.js';
import { endpoints } from './endpoints.js';
import { createLlm, type Llm } from './llm.js';
import type { DemoServer } from './serve.js';

/** The Postman collection of every demo endpoint, relative to the repository. */
export const POSTMAN_COLLECTION = 'docs/postman/ssekit-demo.postman_collection.json';

/** The running demo. */
export interface RunningDemo {
  /** The emulator, or `undefined` when `OPENAI_API_KEY` points the apps at a real provider. */
  readonly emulator: Emulator | undefined;
  /** The model the apps use. */
  readonly llm: Llm;
  /** Each app, in start order. */
  readonly apps: readonly (readonly [Framework, DemoServer])[];
  /** Each configured port that was taken, and what was used instead. Also in the banner. */
  readonly notices: readonly string[];
  /** What to print: URLs, the ports used, endpoints, curl and newman lines. */
  readonly banner: string;
  /** Stops every server. */
  close(): Promise<void>;
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  return Number.isInteger(value) && value >= 0 && value < 65536 ? value : fallback;
}

function delayFrom(value: string | undefined): number | [number, number] | undefined {
  if (value === undefined || value === '') return undefined;
  const [min, max] = value.split('-').map(Number);
  if (min === undefined || !Number.isFinite(min)) return undefined;
  return max === undefined || !Number.isFinite(max) ? min : [min, max];
}

/**
 * Starts the demo. Environment: `PORT_EXPRESS` (3000), `PORT_KOA` (3001), `PORT_HONO` (3002),
 * `PORT_EMULATOR` (3010), `EMULATOR_DELAY_MS` (token pacing: `30` or `20-40`); `REDIS_URL` (the
 * resumable chats' store: memory without it); `OPENAI_API_KEY`, `OPENAI_BASE_URL` and
 * `OPENAI_MODEL` for a real provider. A taken port falls back to a free one, and the banner (and
 * `notices`) says so.
 */
export async function startAll(env: NodeJS.ProcessEnv = process.env): Promise<RunningDemo> {
  let emulator: Emulator | undefined;
  const notices: string[] = [];
  const moved = (what: string, asked: number, used: number | string, variable: string): void =>
    void notices.push(
      `Port ${asked} is taken: ${what} is on port ${used} instead (set ${variable} to choose).`,
    );
  if (!env.OPENAI_API_KEY) {
    const tokenDelay = delayFrom(env.EMULATOR_DELAY_MS);
    const options = tokenDelay === undefined ? {} : { tokenDelay };
    const port = portFrom(env, 'PORT_EMULATOR', 3010);
    try {
      emulator = await startEmulator({ ...options, port });
    } catch (error) {
      if (port === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      emulator = await startEmulator(options);
      moved('emulator', port, new URL(emulator.baseURL).port, 'PORT_EMULATOR');
    }
  }
  const llm = createLlm(emulator?.baseURL, env);
  const ports: Record<Framework, number> = {
    express: portFrom(env, 'PORT_EXPRESS', 3000),
    koa: portFrom(env, 'PORT_KOA', 3001),
    hono: portFrom(env, 'PORT_HONO', 3002),
  };
  // One chat store for the three apps: a chat started on one resumes on another.
  const chats = await createChatStore(env);
  const apps: [Framework, DemoServer][] = [];
  for (const framework of Object.keys(ports) as Framework[]) {
    const app = await startDemo[framework](llm, ports[framework], chats.store);
    apps.push([framework, app]);
    if (app.taken !== undefined) {
      moved(framework, app.taken, app.port, `PORT_${framework.toUpperCase()}`);
    }
  }
  const url = (apps[0] as [Framework, DemoServer])[1].url;
  const banner = [
    'ssekit demo',
    `  model: ${llm.model} (${llm.provider})`,
    '',
    ...apps.map(([name, app]) => `  ${name.padEnd(8)} ${app.url}/`),
    ...(emulator
      ? [`  ${'emulator'.padEnd(8)} ${emulator.baseURL} (offline OpenAI emulator)`]
      : []),
    ...(notices.length > 0 ? ['', ...notices.map((notice) => `  ${notice}`)] : []),
    '',
    `Open ${url}/ in a browser: every app serves the same page and endpoints.`,
    '',
    'Endpoints:',
    ...endpoints.map((e) => `  ${e.method.padEnd(5)} ${e.path.padEnd(12)} ${e.summary}`),
    '',
    `Resumable chats (/api/chats/:id) are kept in the ${chats.kind} store${chats.kind === 'memory' ? ' (set REDIS_URL to share them between processes)' : ''}.`,
    '',
    'Try:',
    `  curl -N --compressed '${url}/api/chat?prompt=Hello'`,
    `  curl -N --compressed -H 'content-type: application/json' -d '{"prompt":"Hello"}' ${url}/api/chat`,
    `  curl -N --compressed -H 'content-type: application/json' -d '{"prompt":"Hello","stream":false}' ${url}/api/ask`,
    `  curl -N --compressed '${url}/api/agent?prompt=Hello'`,
    `  curl -N --compressed '${url}/api/relay?prompt=Hello'`,
    `  curl -N -H 'content-type: application/json' -d '{"prompt":"Hello"}' ${url}/api/chats/demo-1`,
    `  curl -N -H 'last-event-id: <an id from above>' ${url}/api/chats/demo-1/stream`,
    `  curl -X POST ${url}/api/chats/demo-1/stop`,
    `  curl -N --compressed -H 'content-type: application/json' -d '{"id":"c1","messages":[{"id":"m1","role":"user","parts":[{"type":"text","text":"Hello"}]}]}' ${url}/api/ui-chat`,
    `  node --import tsx examples/axios-client.ts ${url} 'Hello'`,
    '',
    `AI SDK: point useChat at ${url}/api/ui-chat (new DefaultChatTransport({ api })).`,
    `Postman: import ${POSTMAN_COLLECTION} and set baseUrl to ${url}, or run it here:`,
    `  npx newman run ${POSTMAN_COLLECTION} --env-var baseUrl=${url}`,
  ].join('\n');
  return {
    emulator,
    llm,
    apps,
    notices,
    banner,
    async close() {
      await Promise.all(apps.map(([, app]) => app.close()));
      await chats.close();
      await emulator?.close();
    },
  };
}
