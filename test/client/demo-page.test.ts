/**
 * The demo page on ssekit/client, in headless Chromium, on every demo app: the "Resumable chat"
 * mode streams POST /api/chats/:id; "Cut connection" drops it mid-answer and the answer goes
 * on (GET /api/chats/:id/stream with Last-Event-ID), with every token once and the prompt run
 * once. Skips without Chromium, unless CI=true (then a missing browser fails).
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answerFor, tokenize } from '../../demo/emulator.js';
import { frameworks, type Stack, startStack } from '../demo/helpers.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(executablePath);

it.runIf(!available && process.env.CI === 'true')('has Chromium (required when CI=true)', () => {
  expect.fail(`Chromium not found at ${executablePath}: install chromium or set CHROMIUM_PATH`);
});

describe.skipIf(!available)('the demo page resuming a cut answer', () => {
  let browser: Browser;
  let stack: Stack | undefined;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
    });
  }, 60_000);
  afterAll(() => browser?.close());
  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  it.each(frameworks)(
    'on %s: Cut connection, and the answer continues where it was',
    async (framework) => {
      stack = await startStack(framework);
      const page = await browser.newPage();
      try {
        await page.goto(`${stack.demo.url}/`);
        const prompt = `cut on the page ${framework}`;
        const tokens = tokenize(answerFor(prompt));
        const release = stack.emulator.hold(5);
        await page.fill('#prompt', prompt);
        await page.check('input[name=mode][value=resumable]');
        await page.click('#send');
        await page.waitForFunction(
          (text) => document.querySelector('#answer')?.textContent === text,
          tokens.slice(0, 5).join(''),
        );
        expect(await page.isEnabled('#cut')).toBe(true);
        await page.click('#cut');
        await page.waitForFunction(
          () => (document.querySelector('#status') as HTMLElement).dataset.state === 'reconnecting',
        );
        release();
        await page.waitForFunction(
          () => (document.querySelector('#status') as HTMLElement).dataset.state === 'done',
        );
        expect(await page.textContent('#answer')).toBe(answerFor(prompt));
        expect(await page.getAttribute('#resumes', 'data-count')).toBe('1');
        expect(await page.textContent('#resumes')).toContain('SSEKit-Resume: continued');
        expect(stack.emulator.stats).toEqual({ requests: 1, completed: 1, aborted: 0 });
        if (framework === 'express') {
          await page.screenshot({ path: '/tmp/ssekit-demo-resume.png', fullPage: true });
        }
      } finally {
        await page.close();
      }
    },
    30_000,
  );
});
