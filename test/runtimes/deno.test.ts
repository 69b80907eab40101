/**
 * ssekit on Deno (the `deno` npm package): `deno serve` serves fixtures/deno-server.ts, the test
 * app and examples/runtimes/deno.ts, importing the built package; the conformance scenarios that
 * apply, from Node.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
import { exampleScenarios, fetchRuntimeScenarios } from './scenarios.js';
import {
  bin,
  cannotRun,
  fixtures,
  requireBuild,
  type RuntimeServer,
  skipRuntime,
  startServer,
} from './server.js';

describe.skipIf(skipRuntime('Deno', cannotRun(bin('deno'), ['--version'])))('Deno', () => {
  let server: RuntimeServer;

  beforeAll(async () => {
    requireBuild();
    server = await startServer(
      bin('deno'),
      [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--allow-net=127.0.0.1',
        // The fixtures import './app.js' as the project's TypeScript (NodeNext) requires.
        '--sloppy-imports',
        '--no-prompt',
        join(fixtures, 'deno-server.ts'),
      ],
      {
        port: /Listening on http:\/\/127\.0\.0\.1:(\d+)/,
        env: { DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      },
    );
  });

  afterAll(async () => {
    await server?.stop();
  });

  exampleScenarios(() => server.url);

  fetchRuntimeScenarios(() => server.url, {
    abort: { aborted: true, returned: true },
    headersWaitForFirstChunk: false,
  });
});
