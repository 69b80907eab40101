/**
 * Runs the one scenario list against every target (issue 3).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scenarios } from './scenarios.js';
import { type Running, targets } from './targets.js';

const unhandled: unknown[] = [];
const record = (error: unknown): void => void unhandled.push(error);

beforeAll(() => {
  process.on('unhandledRejection', record);
  process.on('uncaughtException', record);
});

afterAll(() => {
  process.off('unhandledRejection', record);
  process.off('uncaughtException', record);
});

describe.each(targets)('$name', (target) => {
  const running: Running[] = [];

  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
    expect(unhandled).toEqual([]);
  });

  for (const scenario of scenarios) {
    it.skipIf(scenario.applies?.(target) === false)(scenario.name, async () => {
      await scenario.run({
        target,
        async start(endpoints, http2) {
          const app = await target.start(endpoints, http2);
          running.push(app);
          return app;
        },
      });
    });
  }
});
