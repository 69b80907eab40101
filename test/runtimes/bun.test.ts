/**
 * ssekit on Bun (the `bun` npm package): the fetch app of fixtures/app.ts served by `Bun.serve`,
 * importing the built package; the conformance scenarios that apply, from Node.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchRuntimeScenarios } from './scenarios.js';
import { bin, fixtures, requireBuild, type RuntimeServer, startServer } from './server.js';

let server: RuntimeServer;

beforeAll(async () => {
  requireBuild();
  // An empty tsconfig: Bun would otherwise apply the repository's `paths` (ssekit → src/).
  const tsconfig = join(tmpdir(), `ssekit-bun-tsconfig-${String(process.pid)}.json`);
  writeFileSync(tsconfig, '{ "compilerOptions": {} }\n');
  server = await startServer(
    bin('bun'),
    [`--tsconfig-override=${tsconfig}`, 'run', join(fixtures, 'bun-server.ts')],
    { port: /"listening":(\d+)/ },
  );
});

afterAll(async () => {
  await server?.stop();
});

describe('Bun', () => {
  fetchRuntimeScenarios(() => server.url, {
    abort: { aborted: true, returned: true },
    headersWaitForFirstChunk: true,
  });

  it('cuts a stream after idleTimeout even while heartbeats flow, unless the request turns it off', async () => {
    // The server runs with idleTimeout: 1; the producer sends its token after 5 s, and a
    // heartbeat every 300 ms before it. Bun checks its timeouts every few seconds.
    const read = (url: string): Promise<string> =>
      fetch(url)
        .then((response) => response.text())
        .catch((error: unknown) => String((error as Error).cause ?? error));
    const [cut, unlimited] = await Promise.all([
      read(`${server.url}/core/slow/5000?heartbeat=300`),
      read(`${server.url}/core/slow/5000?heartbeat=300&unlimited`),
    ]);
    expect(cut).toMatch(/other side closed/);
    expect(unlimited).toMatch(/^(:\n\n)+data: late\n\n$/);
  });
});
