/**
 * The demo page in headless Chromium, against each demo app: tokens show before the stream ends,
 * Stop cancels the generation upstream, and the `done` event keeps EventSource from re-running
 * the prompt. Every check waits for an event (a token on the page, an emulator event), never for
 * a fixed time.
 *
 * Chromium is the system's (`CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`), never downloaded.
 * Without it the file is skipped with a message saying so, unless `CI` is set: then it fails.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answerFor, searchDocs, tokenize } from '../../demo/emulator.js';
import { frameworks, type Stack, startStack } from './helpers.js';

/** Where Chromium is looked for: `CHROMIUM_PATH`, or the Debian and Ubuntu paths. */
const CANDIDATES = process.env.CHROMIUM_PATH
  ? [process.env.CHROMIUM_PATH]
  : ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
const executablePath = CANDIDATES.find((path) => existsSync(path));
const ci = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI);
const missing =
  executablePath === undefined
    ? `no Chromium at ${CANDIDATES.join(' or ')} (install it, or set CHROMIUM_PATH)`
    : undefined;
const skip = missing !== undefined && !ci;
if (skip) console.warn(`test/demo/browser.test.ts skipped: ${missing}; with CI set it fails.`);

let browser: Browser;
let page: Page;
let stack: Stack | undefined;
const TIMEOUT = 30_000;

beforeAll(async () => {
  if (skip) return;
  if (executablePath === undefined) {
    throw new Error(`${missing}; CI is set, so the browser tests fail`);
  }
  browser = await chromium.launch({
    executablePath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // One page for the whole file, reloaded by each test: opening a page costs about a second.
  page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
});
afterAll(() => browser?.close());
afterEach(async () => {
  await page?.goto('about:blank');
  await stack?.close();
  stack = undefined;
});

type Transport = 'eventsource' | 'fetch';

async function open(stackNow: Stack): Promise<Page> {
  await page.goto(`${stackNow.demo.url}/`);
  return page;
}

async function ask(
  p: Page,
  prompt: string,
  transport: Transport,
  mode: 'chat' | 'agent' = 'chat',
): Promise<void> {
  await p.fill('#prompt', prompt);
  await p.check(`input[name=transport][value=${transport}]`);
  await p.check(`input[name=mode][value=${mode}]`);
  await p.click('#send');
}

const state = (p: Page): Promise<string | null> => p.getAttribute('#status', 'data-state');
const answerText = (p: Page): Promise<string> => p.$eval('#answer', (el) => el.textContent ?? '');

async function waitForAnswer(p: Page, text: string): Promise<void> {
  await p.waitForFunction(
    (expected) => document.querySelector('#answer')?.textContent === expected,
    text,
  );
}

async function waitForState(p: Page, expected: string): Promise<void> {
  await p.waitForFunction(
    (value) => (document.querySelector('#status') as HTMLElement).dataset.state === value,
    expected,
  );
}

// `describe.skip` keeps the suite's name and indentation; the reason is in the warning above.
const suite = skip ? describe.skip : describe;
suite.each(frameworks)('the demo page on %s', (framework) => {
  for (const transport of ['eventsource', 'fetch'] as const) {
    it(
      `shows the answer token by token before the stream ends (${transport})`,
      async () => {
        stack = await startStack(framework);
        const p = await open(stack);
        const prompt = `partial ${transport}`;
        const tokens = tokenize(answerFor(prompt));
        const release = stack.emulator.hold(5);
        await ask(p, prompt, transport);
        // The first five tokens are on the page while the emulator has not sent the sixth.
        await waitForAnswer(p, tokens.slice(0, 5).join(''));
        expect(await state(p)).toBe('streaming');
        expect(stack.emulator.log[0]).toMatchObject({ status: 'streaming', tokensSent: 5 });
        release();
        await waitForState(p, 'done');
        expect(await answerText(p)).toBe(answerFor(prompt));
        expect(stack.emulator.stats).toEqual({ requests: 1, completed: 1, aborted: 0 });
      },
      TIMEOUT,
    );

    it(
      `Stop aborts the server's producer and the generation upstream (${transport})`,
      async () => {
        stack = await startStack(framework);
        const p = await open(stack);
        const prompt = `stop ${transport}`;
        const release = stack.emulator.hold(3);
        await ask(p, prompt, transport);
        await waitForAnswer(p, tokenize(answerFor(prompt)).slice(0, 3).join(''));
        const aborted = once(stack.emulator.events, 'aborted');
        await p.click('#stop');
        await aborted;
        release();
        expect(await state(p)).toBe('stopped');
        expect(stack.emulator.stats).toEqual({ requests: 1, completed: 0, aborted: 1 });
      },
      TIMEOUT,
    );
  }

  it(
    'shows agent events as they arrive, before the final answer',
    async () => {
      stack = await startStack(framework);
      const p = await open(stack);
      const prompt = 'agent on the page';
      // The hold applies to every generation: let the first call (thought and tool call) through
      // once its thought is on the page, then hold the final answer after 4 tokens.
      const emulator = stack.emulator;
      let release = emulator.hold(4);
      await ask(p, prompt, 'fetch', 'agent');
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (emulator.log[0]?.tokensSent === 4) resolve(clearInterval(check));
        }, 10);
      });
      release();
      release = emulator.hold(4);
      const final = answerFor(prompt, searchDocs(prompt));
      await waitForAnswer(p, tokenize(final).slice(0, 4).join(''));
      const names = await p.$$eval('#events li', (items) =>
        items.map((item) => (item as HTMLElement).dataset.event),
      );
      expect(names).toEqual(['thought', 'action', 'observation']);
      release();
      await waitForState(p, 'done');
      expect(await p.$$eval('#events li', (items) => items.length)).toBe(4);
      expect(await answerText(p)).toBe(final);
      if (framework === 'express') {
        await p.screenshot({ path: '/tmp/ssekit-demo-agent.png', fullPage: true });
      }
    },
    TIMEOUT,
  );

  it(
    'closes EventSource on the done event, so the prompt runs once',
    async () => {
      stack = await startStack(framework);
      const p = await open(stack);
      await ask(p, 'run once', 'eventsource');
      await waitForState(p, 'done');
      expect(stack.emulator.stats.requests).toBe(1);
      // The control (browser behaviour, so on one app only): an EventSource that ignores `done`
      // reconnects when the response ends, after the browser's default retry delay, and the server
      // runs that prompt a second time.
      if (framework !== 'express') return;
      const secondRun = new Promise<void>((resolve) => {
        stack!.emulator.events.on('request', (generation) => {
          if (
            generation.prompt === 'run twice' &&
            stack!.emulator.log.filter((g) => g.prompt === 'run twice').length === 2
          )
            resolve();
        });
      });
      await p.evaluate(() => {
        (window as unknown as { control: EventSource }).control = new EventSource(
          '/api/chat?prompt=run%20twice',
        );
      });
      await secondRun;
      await p.evaluate(() => (window as unknown as { control: EventSource }).control.close());
      // All along, the page's own EventSource stayed closed: "run once" ran once.
      expect(stack.emulator.log.map((g) => g.prompt)).toEqual([
        'run once',
        'run twice',
        'run twice',
      ]);
    },
    TIMEOUT,
  );
});
