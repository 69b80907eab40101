/**
 * Chromium's own EventSource against each demo app's resume route, through a proxy that drops
 * the connection mid-answer: the browser reconnects by itself with `Last-Event-ID` and receives
 * every event once; and the demo page's resumable chat continues the same generation across a
 * reload. Skips without Chromium, unless `CI=true` (then a missing browser fails).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answerFor, tokenize } from '../../demo/emulator.js';
import { readEvents } from '../resume/helpers.js';
import { frameworks, type Stack, startStack } from './helpers.js';
import { type DropProxy, startDropProxy } from './resume-helpers.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(executablePath);
const ci = process.env.CI === 'true';

it.runIf(!available && ci)('has Chromium (required when CI=true)', () => {
  expect.fail(`Chromium not found at ${executablePath}: install chromium or set CHROMIUM_PATH`);
});

describe.skipIf(!available)('Chromium EventSource resuming a chat', () => {
  let browser: Browser;
  let stack: Stack | undefined;
  let proxy: DropProxy | undefined;
  beforeAll(async () => {
    if (!available) console.warn(`skipped: no Chromium at ${executablePath}`);
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
    });
  });
  afterAll(() => browser?.close());
  afterEach(async () => {
    await proxy?.close();
    await stack?.close();
    proxy = stack = undefined;
  });

  it.each(frameworks)(
    'on %s: reconnects by itself across an injected drop and gets every event once',
    async (framework) => {
      stack = await startStack(framework, 15);
      proxy = await startDropProxy(stack.demo.url);
      const prompt = `browser ${framework}`;
      // Start the chat and leave: the page then follows it on the resume route.
      await readEvents(`${stack.demo.url}/api/chats/b1`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ prompt }),
        count: 1,
      });
      const page = await browser.newPage();
      try {
        await page.goto(`${proxy.url}/`);
        await page.evaluate(() => {
          const state = { seen: [] as [string, string][], finished: false, errors: 0 };
          (window as unknown as { resumeState: typeof state }).resumeState = state;
          const source = new EventSource('/api/chats/b1/stream');
          source.onmessage = (event) => state.seen.push([event.lastEventId, event.data as string]);
          source.onerror = () => state.errors++;
          source.addEventListener('done', () => {
            state.finished = true;
            source.close();
          });
        });
        await page.waitForFunction(
          () =>
            (window as unknown as { resumeState: { seen: unknown[] } }).resumeState.seen.length >=
            5,
        );
        proxy.cut(); // the network drops mid-answer
        await page.waitForFunction(
          () => (window as unknown as { resumeState: { finished: boolean } }).resumeState.finished,
          undefined,
          { timeout: 15_000 },
        );
        const state = await page.evaluate(
          () =>
            (window as unknown as { resumeState: { seen: [string, string][]; errors: number } })
              .resumeState,
        );
        expect(state.errors).toBeGreaterThanOrEqual(1); // it did see the drop
        expect(proxy.connections).toBeGreaterThanOrEqual(2); // the first, and the reconnection
        const ids = state.seen.map(([id]) => id);
        expect(new Set(ids).size).toBe(ids.length);
        expect(state.seen.map(([, data]) => data).join('')).toBe(answerFor(prompt));
      } finally {
        await page.close();
      }
    },
    30_000,
  );
});

describe.skipIf(!available)('the demo page: a resumable chat survives a reload', () => {
  let browser: Browser;
  let stack: Stack | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
    });
  });
  afterAll(() => browser?.close());
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it.each(frameworks)(
    'on %s: a reload mid-answer continues the same generation to its end',
    async (framework) => {
      stack = await startStack(framework);
      const page = await browser.newPage();
      try {
        const prompt = `reload ${framework}`;
        const tokens = tokenize(answerFor(prompt));
        const release = stack.emulator.hold(5);
        await page.goto(`${stack.demo.url}/`);
        await page.fill('#prompt', prompt);
        await page.check('input[name=mode][value=resumable]');
        await page.click('#send');
        await page.waitForFunction(
          (expected) => document.querySelector('#answer')?.textContent === expected,
          tokens.slice(0, 5).join(''),
        );
        await page.reload(); // mid-answer: the generation goes on without the page
        await page.waitForFunction(
          (expected) => document.querySelector('#answer')?.textContent === expected,
          tokens.slice(0, 5).join(''),
        );
        release();
        await page.waitForFunction(
          () => (document.querySelector('#status') as HTMLElement).dataset.state === 'done',
        );
        expect(await page.$eval('#answer', (el) => el.textContent)).toBe(answerFor(prompt));
        expect(stack.emulator.stats).toEqual({ requests: 1, completed: 1, aborted: 0 });
      } finally {
        await page.close();
      }
    },
    30_000,
  );
});
