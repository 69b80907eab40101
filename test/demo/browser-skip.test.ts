/**
 * test/demo/browser.test.ts on a machine without Chromium: skipped with a message saying why when
 * `CI` is unset (a macOS contributor's `npm test` stays green), failed when `CI=true` (CI must
 * never pass without its browser tests). Runs that file in a child vitest with `CHROMIUM_PATH`
 * pointing nowhere.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

function runBrowserTests(ci: string): Promise<{ code: number; output: string }> {
  const env = { ...process.env, CHROMIUM_PATH: '/nonexistent/chromium', CI: ci, NO_COLOR: '1' };
  const args = ['run', 'test/demo/browser.test.ts'];
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/vitest'), args, { cwd: root, env }, (error, out, err) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: out + err }),
    );
  });
}

it('skips with a clear message when no Chromium is found and CI is unset', async () => {
  const { code, output } = await runBrowserTests('');
  expect(code).toBe(0);
  expect(output).toContain(
    'test/demo/browser.test.ts skipped: no Chromium at /nonexistent/chromium (install it, or set CHROMIUM_PATH)',
  );
  expect(output).toMatch(/Tests\s+\d+ skipped/);
}, 60_000);

it('fails when no Chromium is found and CI=true', async () => {
  const { code, output } = await runBrowserTests('true');
  expect(code).not.toBe(0);
  expect(output).toContain('CI is set, so the browser tests fail');
}, 60_000);
