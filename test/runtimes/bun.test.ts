/**
 * ssekit on Bun (the `bun` npm package): fixtures/bun-server.ts serves the test app and
 * examples/runtimes/bun.ts with `Bun.serve`, importing the built package; the conformance
 * scenarios that apply, from Node.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

describe.skipIf(skipRuntime('Bun', cannotRun(bin('bun'), ['--version'])))('Bun', () => {
  let server: RuntimeServer;
  // An empty tsconfig: Bun would otherwise apply the repository's `paths` (ssekit → src/).
  const tsconfig = join(tmpdir(), `ssekit-bun-tsconfig-${String(process.pid)}.json`);

  beforeAll(async () => {
    requireBuild();
    writeFileSync(tsconfig, '{ "compilerOptions": {} }\n');
    server = await startServer(
      bin('bun'),
      [`--tsconfig-override=${tsconfig}`, 'run', join(fixtures, 'bun-server.ts')],
      { port: /"listening":(\d+)/ },
    );
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(tsconfig, { force: true });
  });

  exampleScenarios(() => server.url);

  // Bun sends no headers before the body's first chunk, hence `open`.
  fetchRuntimeScenarios(() => server.url, {
    abort: { aborted: true, returned: true },
    headersWaitForFirstChunk: true,
  });

  it('cuts a stream after idleTimeout, heartbeats or not, unless the request turns it off', async () => {
    // The server runs with idleTimeout: 1 (s); the producers send their token after 5 s, one
    // silent and one with a heartbeat every 300 ms. Bun checks its timeouts every few seconds.
    const read = (url: string): Promise<string> =>
      fetch(url)
        .then((response) => response.text())
        .catch((error: unknown) => String((error as Error).cause ?? error));
    const [silent, beating, unlimited] = await Promise.all([
      read(`${server.url}/core/slow/5000`),
      read(`${server.url}/core/slow/5000?heartbeat=300`),
      read(`${server.url}/core/slow/5000?heartbeat=300&unlimited`),
    ]);
    expect(silent).toMatch(/other side closed/);
    expect(beating).toMatch(/other side closed/);
    expect(unlimited).toMatch(/^(:\n\n)+data: late\n\n$/);
  });
});
