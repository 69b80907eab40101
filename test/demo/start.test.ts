/**
 * What `npm start` runs (demo/start.ts): the emulator and three apps on loopback, a banner with
 * their URLs, the ports used, curl lines and a `newman run` line that works as printed, and a
 * notice (not silence) when a configured port is taken.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, it } from 'vitest';
import { answerFor } from '../../demo/emulator.js';
import { type RunningDemo, startAll } from '../../demo/start.js';
import { parseSse } from './helpers.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

let demo: RunningDemo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

/** Holds a free loopback port until `close()`. */
async function takePort(): Promise<{ port: number; close: () => void }> {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  return { port: (blocker.address() as { port: number }).port, close: () => blocker.close() };
}

it('starts the emulator and the three apps, prints where they are, and says which port was taken', async () => {
  const [express, emulator] = [await takePort(), await takePort()];
  try {
    demo = await startAll({
      PORT_EXPRESS: String(express.port),
      PORT_KOA: '0',
      PORT_HONO: '0',
      PORT_EMULATOR: String(emulator.port),
      EMULATOR_DELAY_MS: '0',
    });
  } finally {
    express.close();
    emulator.close();
  }
  expect(demo.emulator).toBeDefined();
  expect(demo.apps.map(([name]) => name)).toEqual(['express', 'koa', 'hono']);
  const [, app] = demo.apps[0]!;
  expect(app.url).not.toBe(`http://127.0.0.1:${express.port}`);
  const used = new URL(app.url).port;
  expect(demo.banner).toContain(
    `Port ${express.port} is taken: express is on port ${used} instead (set PORT_EXPRESS to choose).`,
  );
  const emulatorPort = new URL(demo.emulator!.baseURL).port;
  expect(demo.banner).toContain(
    `Port ${emulator.port} is taken: emulator is on port ${emulatorPort} instead (set PORT_EMULATOR to choose).`,
  );
  for (const [name, server] of demo.apps) {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.banner).toContain(`${name.padEnd(8)} ${server.url}/`);
    const events = parseSse(await (await fetch(`${server.url}/api/chat?prompt=hi`)).text());
    expect(
      events
        .filter((e) => !e.event)
        .map((e) => e.data)
        .join(''),
    ).toBe(answerFor('hi'));
  }
  expect(demo.banner).toContain(`emulator ${demo.emulator!.baseURL}`);
  expect(demo.banner).toContain(`Open ${app.url}/ in a browser`);
  expect(demo.banner).toContain(`curl -N --compressed '${app.url}/api/chat?prompt=Hello'`);
});

it('says nothing about taken ports when every port is free', async () => {
  demo = await startAll({
    PORT_EXPRESS: '0',
    PORT_KOA: '0',
    PORT_HONO: '0',
    PORT_EMULATOR: '0',
    EMULATOR_DELAY_MS: '0',
  });
  expect(demo.banner).not.toContain('is taken');
});

it('prints a newman run line with the real base URL, which passes as printed', async () => {
  demo = await startAll({
    PORT_EXPRESS: '0',
    PORT_KOA: '0',
    PORT_HONO: '0',
    PORT_EMULATOR: '0',
    EMULATOR_DELAY_MS: '0',
  });
  const [, app] = demo.apps[0]!;
  const line = demo.banner.split('\n').find((l) => l.trim().startsWith('npx newman run '));
  expect(line?.trim()).toBe(
    `npx newman run docs/postman/ssekit-demo.postman_collection.json --env-var baseUrl=${app.url}`,
  );
  // The installed CLI, as `npx` would find it, with the printed arguments.
  const args = line!.trim().split(' ').slice(2);
  const { stdout } = await run(
    join(root, 'node_modules/.bin/newman'),
    [...args, '--color', 'off'],
    {
      cwd: root,
    },
  );
  expect(stdout).toMatch(/│\s+assertions\s+│\s+\d+\s+│\s+0\s+│/);
}, 60_000);
