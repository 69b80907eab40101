/**
 * What `npm start` runs (demo/start.ts): the emulator and three apps on loopback, a banner with
 * their URLs and curl lines, and a free port when a configured one is taken.
 */
import { createServer } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { answerFor } from '../../demo/emulator.js';
import { type RunningDemo, startAll } from '../../demo/start.js';
import { parseSse } from './helpers.js';

let demo: RunningDemo | undefined;
afterEach(async () => {
  await demo?.close();
  demo = undefined;
});

it('starts the emulator and the three apps, prints where they are, and falls back from a taken port', async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as { port: number }).port;
  try {
    demo = await startAll({
      PORT_EXPRESS: String(taken),
      PORT_KOA: '0',
      PORT_HONO: '0',
      PORT_EMULATOR: '0',
      EMULATOR_DELAY_MS: '0',
    });
  } finally {
    blocker.close();
  }
  expect(demo.emulator).toBeDefined();
  expect(demo.apps.map(([name]) => name)).toEqual(['express', 'koa', 'hono']);
  const [, express] = demo.apps[0]!;
  expect(express.url).not.toBe(`http://127.0.0.1:${taken}`);
  for (const [name, app] of demo.apps) {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(demo.banner).toContain(`${name.padEnd(8)} ${app.url}/`);
    const events = parseSse(await (await fetch(`${app.url}/api/chat?prompt=hi`)).text());
    expect(
      events
        .filter((e) => !e.event)
        .map((e) => e.data)
        .join(''),
    ).toBe(answerFor('hi'));
  }
  expect(demo.banner).toContain(`Open ${express.url}/ in a browser`);
  expect(demo.banner).toContain(`curl -N --compressed '${express.url}/api/chat?prompt=Hello'`);
});
