/**
 * `ssekit/client` in headless Chromium (Debian's /usr/bin/chromium through playwright-core),
 * bundled by esbuild and served to a page on the test server's origin, against the hand-written
 * resumable routes on Express, Koa and Hono: POST in lockstep, abort stops the server's
 * producer, resume after a server-side socket destroy and after a proxy drop with every event
 * exactly once and the prompt run once, `retry:` honoured, `204` stops, reset handled.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type * as Client from 'ssekit/client';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ChatLog,
  frameworks,
  type Proxy,
  startChatServer,
  startProxy,
  type TestServer,
  tokensFor,
} from './chat-server.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(executablePath);
if (!available && process.env.CI === 'true') {
  throw new Error(`Chromium is required on CI (CI=true) and is missing at ${executablePath}`);
}
if (!available) console.warn(`skipping the Chromium client tests: no browser at ${executablePath}`);

let browser: Browser;
let page: Page | undefined;
let bundle = '';
let server: TestServer | undefined;
let proxy: Proxy | undefined;

beforeAll(async () => {
  if (!available) return;
  const result = await build({
    entryPoints: [fileURLToPath(new URL('../../src/client.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    // node_modules may be a symlink (a worktree sharing another's): resolve inside this package.
    preserveSymlinks: true,
  });
  bundle = result.outputFiles[0]?.text ?? '';
  browser = await chromium.launch({
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
  });
}, 60_000);
afterAll(() => browser?.close());
afterEach(async () => {
  await page?.close();
  page = undefined;
  await proxy?.close();
  await server?.close();
  server = proxy = undefined;
});

// The page loads the bundle itself: vitest would rewrite an `import()` inside `page.evaluate`.
const PAGE = `<!doctype html><title>client</title>
<script type="module">import * as client from '/client.js'; window.ssekitClient = client;</script>`;

type ClientModule = typeof Client;

/** Opens a page on `origin` that has the client bundle at /client.js. */
async function open(origin: string): Promise<Page> {
  // A page per test: functions exposed to a page stay for its whole life.
  page = await browser.newPage();
  await page.route(`${origin}/client.js`, (route) =>
    route.fulfill({ body: bundle, contentType: 'text/javascript' }),
  );
  await page.route(`${origin}/page.html`, (route) =>
    route.fulfill({ body: PAGE, contentType: 'text/html' }),
  );
  await page.goto(`${origin}/page.html`);
  await page.waitForFunction(() => 'ssekitClient' in window);
  return page;
}

interface PageResult {
  events: { event: string; data: unknown; id: string | undefined }[];
  outcome: string | undefined;
  reconnects: number;
  delays: number[];
  error: { code: string | undefined; name: string; message: string } | undefined;
}

/** Runs `connect(url, options)` in the page to its end; `cut` (exposed) is called after event n. */
function run(
  p: Page,
  url: string,
  options: Record<string, unknown>,
  cutAt = 0,
): Promise<PageResult> {
  return p.evaluate(
    async ({ url, options, cutAt }) => {
      const { connect } = (window as unknown as { ssekitClient: ClientModule }).ssekitClient;
      const w = window as unknown as {
        cut?: () => Promise<void>;
        ack?: (k: number) => Promise<void>;
        seen?: (id: string | undefined) => Promise<void>;
      };
      const delays: number[] = [];
      const stream = connect(url, {
        ...options,
        onReconnect: (info) => void delays.push(info.delay),
      });
      const events: PageResult['events'] = [];
      let error: PageResult['error'];
      try {
        for await (const event of stream) {
          events.push({ event: event.event, data: event.data, id: event.id });
          if (w.seen) await w.seen(event.id);
          if (w.ack && event.event === 'message') await w.ack(Number(String(event.data).slice(1)));
          if (events.length === cutAt && w.cut) await w.cut();
        }
      } catch (caught) {
        const e = caught as { code?: string; name: string; message: string };
        error = { code: e.code, name: e.name, message: e.message };
      }
      return { events, outcome: stream.outcome, reconnects: stream.reconnects, delays, error };
    },
    { url, options, cutAt },
  );
}

describe.skipIf(!available).each(frameworks)('ssekit/client in Chromium on %s', (framework) => {
  async function start(log: ChatLog): Promise<string> {
    server = await startChatServer(framework, log);
    return server.url;
  }
  const fast = { delay: 5, maxDelay: 50 };

  it('POSTs in lockstep: event k+1 is sent only after the page has event k', async () => {
    const log = new ChatLog();
    const url = await start(log);
    const p = await open(url);
    const sentWhenSeen: number[] = [];
    await p.exposeFunction('ack', (k: number) => {
      sentWhenSeen.push(log.lockstepSent);
      log.ack(k);
    });
    const result = await run(p, `${url}/lockstep`, { method: 'POST' });
    expect(result.error).toBeUndefined();
    expect(result.events.map((e) => e.data)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(sentWhenSeen).toEqual([1, 2, 3, 4, 5]);
    expect(result.outcome).toBe('done');
  });

  it("abort stops the server's producer", async () => {
    const log = new ChatLog();
    const url = await start(log);
    const p = await open(url);
    const result = await p.evaluate(async (url) => {
      const { connect } = (window as unknown as { ssekitClient: ClientModule }).ssekitClient;
      const controller = new AbortController();
      const seen: unknown[] = [];
      try {
        for await (const event of connect(`${url}/plain`, {
          method: 'POST',
          signal: controller.signal,
        })) {
          seen.push(event.data);
          if (seen.length === 3) controller.abort(new Error('stop'));
        }
      } catch (error) {
        return { seen, error: (error as Error).message };
      }
      return { seen, error: undefined };
    }, url);
    expect(result).toEqual({ seen: ['p1', 'p2', 'p3'], error: 'stop' });
    await log.plainAborted;
  });

  it('resumes after a server-side socket destroy: every event once, the prompt run once', async () => {
    const log = new ChatLog();
    log.cuts.push(4, 3);
    log.gated = true;
    const url = await start(log);
    const p = await open(url);
    await p.exposeFunction('seen', (id: string | undefined) => log.seen(id));
    const result = await run(p, `${url}/chat/b`, {
      json: { prompt: 'cut' },
      resume: fast,
    });
    expect(result.error).toBeUndefined();
    expect(result.events.map((e) => e.data)).toEqual(tokensFor('cut', log.tokens));
    expect(result.reconnects).toBe(2);
    expect(log.runs).toBe(1);
  });

  it('resumes when a proxy drops the connection', async () => {
    const log = new ChatLog();
    log.pace = 5;
    const url = await start(log);
    proxy = await startProxy(url);
    const p = await open(proxy.url);
    const release = log.hold(5); // nothing more is sent until the page has cut
    await p.exposeFunction('cut', () => {
      proxy?.drop();
      release();
    });
    const result = await run(
      p,
      `${proxy.url}/chat/c`,
      { json: { prompt: 'proxy' }, resume: fast },
      5,
    );
    expect(result.error).toBeUndefined();
    expect(result.events.map((e) => e.data)).toEqual(tokensFor('proxy', log.tokens));
    expect(result.reconnects).toBeGreaterThanOrEqual(1);
    expect(log.runs).toBe(1);
  });

  it("honours the server's retry:", async () => {
    const log = new ChatLog();
    log.retry = 300;
    log.cuts.push(2);
    log.gated = true;
    const url = await start(log);
    const p = await open(url);
    await p.exposeFunction('seen', (id: string | undefined) => log.seen(id));
    const result = await run(p, `${url}/chat/e`, {
      json: { prompt: 'retry' },
      resume: { delay: 1 },
    });
    expect(result.events.map((e) => e.data)).toEqual(tokensFor('retry', log.tokens));
    expect(result.delays).toHaveLength(1);
    expect(result.delays[0]).toBeGreaterThanOrEqual(300);
  });

  it('stops on 204', async () => {
    const log = new ChatLog();
    log.tokens = 4;
    log.cuts.push(4);
    log.gated = true; // cut once the page has all 4, before `done`
    const url = await start(log);
    const p = await open(url);
    await p.exposeFunction('seen', (id: string | undefined) => log.seen(id));
    const result = await run(p, `${url}/chat/f`, { json: { prompt: 'end' }, resume: fast });
    expect(result.events.map((e) => e.data)).toEqual(tokensFor('end', 4));
    expect(result.outcome).toBe('no-content');
  });

  it('yields the reset, then the replay', async () => {
    const log = new ChatLog();
    log.cuts.push(5);
    log.gated = true;
    const url = await start(log);
    const p = await open(url);
    await p.exposeFunction('seen', (id: string | undefined) => log.seen(id));
    await p.exposeFunction('cut', () => {
      const chat = log.chats.get('g');
      if (chat) chat.trimmed = true;
    });
    const result = await run(p, `${url}/chat/g`, { json: { prompt: 'reset' }, resume: fast }, 5);
    const tokens = tokensFor('reset', log.tokens);
    expect(result.events[5]).toEqual({
      event: 'ssekit.reset',
      data: { reason: 'trimmed' },
      id: undefined,
    });
    expect(result.events.slice(6).map((e) => e.data)).toEqual(tokens);
    expect(log.runs).toBe(1);
  });

  it('reports a non-2xx answer as HTTP_ERROR', async () => {
    const url = await start(new ChatLog());
    const result = await run(await open(url), `${url}/status/500`, {});
    expect(result.error).toMatchObject({ code: 'HTTP_ERROR', name: 'SseClientError' });
  });
});
