/**
 * ssekit on Deno (the `deno` npm package): the fetch app of fixtures/app.ts served by
 * `Deno.serve`, importing the built package; the conformance scenarios that apply, from Node.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { fetchRuntimeScenarios } from './scenarios.js';
import { bin, fixtures, requireBuild, type RuntimeServer, startServer } from './server.js';

let server: RuntimeServer;

beforeAll(async () => {
  requireBuild();
  server = await startServer(
    bin('deno'),
    [
      'run',
      '--allow-net=127.0.0.1',
      '--allow-read',
      '--allow-env',
      // The fixtures import './app.js' as the project's TypeScript (NodeNext) requires.
      '--sloppy-imports',
      '--no-prompt',
      join(fixtures, 'deno-server.ts'),
    ],
    { port: /"listening":(\d+)/, env: { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } },
  );
});

afterAll(async () => {
  await server?.stop();
});

describe('Deno', () => {
  fetchRuntimeScenarios(() => server.url, {
    abort: { aborted: true, returned: true },
    headersWaitForFirstChunk: false,
  });
});
