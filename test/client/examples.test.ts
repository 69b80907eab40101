/**
 * The recipes of docs/client.md run: the Node script against a demo app through a proxy that drops
 * the connection (the answer is whole, the prompt ran once), and the React hook in headless
 * Chromium (bundled with esbuild, react-dom rendering it) streaming a demo answer and stopping the
 * generation upstream on Stop.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answerFor, tokenize } from '../../demo/emulator.js';
import { type Stack, startStack } from '../demo/helpers.js';
import { type Proxy, startProxy } from './chat-server.js';
import { ask } from './examples/node.js';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(executablePath);
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

let stack: Stack | undefined;
let proxy: Proxy | undefined;
afterEach(async () => {
  await proxy?.close();
  await stack?.close();
  stack = proxy = undefined;
});

describe('the Node recipe', () => {
  it('prints the whole answer across a dropped connection, and the prompt runs once', async () => {
    stack = await startStack('express', 1);
    proxy = await startProxy(stack.demo.url);
    const prompt = 'node recipe';
    let pieces = 0;
    const answer = await ask(proxy.url, prompt, () => {
      if (++pieces === 6) proxy?.drop();
    });
    expect(answer).toBe(answerFor(prompt));
    expect(stack.emulator.stats.requests).toBe(1);
    expect(proxy.connections).toBeGreaterThanOrEqual(2);
  });
});

it.runIf(!available && process.env.CI === 'true')('has Chromium (required when CI=true)', () => {
  expect.fail(`Chromium not found at ${executablePath}: install chromium or set CHROMIUM_PATH`);
});

describe.skipIf(!available)('the React recipe in Chromium', () => {
  let browser: Browser;
  let bundle = '';
  beforeAll(async () => {
    const result = await build({
      stdin: {
        contents: `
          import { createElement } from 'react';
          import { createRoot } from 'react-dom/client';
          import { Chat } from './examples/react.js';
          createRoot(document.getElementById('root')).render(
            createElement(Chat, { url: '/api/chat', prompt: window.recipePrompt }),
          );`,
        resolveDir: here('.'),
        loader: 'js',
      },
      alias: { 'ssekit/client': here('../../src/client.ts') },
      define: { 'process.env.NODE_ENV': '"production"' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
      preserveSymlinks: true, // node_modules may be a symlink to another checkout's
    });
    bundle = result.outputFiles[0]?.text ?? '';
    browser = await chromium.launch({
      executablePath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic'],
    });
  }, 60_000);
  afterAll(() => browser?.close());

  async function openRecipe(prompt: string) {
    stack = await startStack('koa');
    const page = await browser.newPage();
    const origin = stack.demo.url;
    await page.route(`${origin}/recipe.js`, (route) =>
      route.fulfill({ body: bundle, contentType: 'text/javascript' }),
    );
    await page.route(`${origin}/recipe.html`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><div id="root"></div><script>window.recipePrompt = ${JSON.stringify(prompt)}</script><script type="module" src="/recipe.js"></script>`,
      }),
    );
    await page.goto(`${origin}/recipe.html`);
    await page.waitForSelector('#ask');
    return page;
  }

  it('streams the answer into React state', async () => {
    const prompt = 'react recipe';
    const page = await openRecipe(prompt);
    try {
      await page.click('#ask');
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'done');
      expect(await page.textContent('#answer')).toBe(answerFor(prompt));
    } finally {
      await page.close();
    }
  });

  it('Stop closes the request and the generation stops upstream', async () => {
    const prompt = 'react stop';
    const page = await openRecipe(prompt);
    try {
      const release = stack!.emulator.hold(3);
      await page.click('#ask');
      await page.waitForFunction(
        (text) => document.querySelector('#answer')?.textContent === text,
        tokenize(answerFor(prompt)).slice(0, 3).join(''),
      );
      const aborted = once(stack!.emulator.events, 'aborted');
      await page.click('#stop');
      await aborted;
      release();
      await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'idle');
    } finally {
      await page.close();
    }
  });
});
