/**
 * ssekit on the Workers runtime (`workerd`, the binary miniflare and wrangler run): the test app
 * and examples/runtimes/worker.ts (fixtures/worker.ts), bundled with esbuild from the built
 * package as wrangler bundles a Worker, served by `workerd serve` with a generated config, and
 * by miniflare (fixtures/miniflare-server.ts); the conformance scenarios that apply, from Node.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe } from 'vitest';
import { abortScenarios, exampleScenarios, fetchRuntimeScenarios } from './scenarios.js';
import {
  bin,
  cannotRun,
  fixtures,
  requireBuild,
  type RuntimeServer,
  skipRuntime,
  startServer,
} from './server.js';

/**
 * One workerd, two Workers on two sockets, the same script: "main" with the defaults, "signal"
 * with the `enable_request_signal` compatibility flag (request.signal aborts when the client
 * leaves). Ports 0; workerd reports the ports it got on its control pipe (fd 3).
 */
const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .main),
    (name = "signal", worker = .signal),
  ],
  sockets = [
    (name = "main", address = "127.0.0.1:0", http = (), service = "main"),
    (name = "signal", address = "127.0.0.1:0", http = (), service = "signal"),
  ],
);

const main :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2026-07-01",
);

const signal :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2026-07-01",
  compatibilityFlags = ["enable_request_signal"],
);
`;

/** Both sockets' ports, in either order: main's first, so it makes the server's url. */
const listening =
  /^(?=[\s\S]*"socket":"main","port":(\d+))(?=[\s\S]*"socket":"signal","port":(\d+))/;

describe.skipIf(skipRuntime('workerd', cannotRun(bin('workerd'), ['--version'])))('workerd', () => {
  let server: RuntimeServer;
  let miniflare: RuntimeServer;
  let dir: string;
  let signalUrl: string;

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'ssekit-workerd-'));
    // An empty tsconfig, so that the repository's `paths` (ssekit → src/) do not apply.
    writeFileSync(join(dir, 'tsconfig.json'), '{ "compilerOptions": {} }\n');
    await build({
      entryPoints: [join(fixtures, 'worker.ts')],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      tsconfig: join(dir, 'tsconfig.json'),
      outfile: join(dir, 'worker.js'),
      logLevel: 'error',
    });
    writeFileSync(join(dir, 'config.capnp'), config);
    const started = await Promise.allSettled([
      startServer(bin('workerd'), ['serve', 'config.capnp', '--control-fd=3'], {
        cwd: dir,
        port: listening,
        portPipe: 3,
      }),
      startServer(
        process.execPath,
        ['--import', 'tsx', join(fixtures, 'miniflare-server.ts'), join(dir, 'worker.js')],
        { port: /"listening":(\d+)/ },
      ),
    ]);
    const [workerd, mf] = started;
    if (workerd?.status !== 'fulfilled' || mf?.status !== 'fulfilled') {
      // Stop the one that started; report the one that did not.
      for (const result of started) if (result.status === 'fulfilled') await result.value.stop();
      throw started.find((result) => result.status === 'rejected')?.reason;
    }
    [server, miniflare] = [workerd.value, mf.value];
    signalUrl = `http://127.0.0.1:${server.match[2] ?? ''}`;
  });

  afterAll(async () => {
    await Promise.all([server?.stop(), miniflare?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('with the defaults', () => {
    exampleScenarios(() => server.url);

    // A client that leaves cancels the request: its timers and fetches stop, so the producer
    // is frozen where it was, but nothing tells it (no signal, no return(), no finally).
    fetchRuntimeScenarios(() => server.url, {
      abort: { aborted: false, returned: false },
      headersWaitForFirstChunk: false,
    });
  });

  describe('with the enable_request_signal compatibility flag', () => {
    // request.signal aborts, so ssekit aborts the producer's signal; the source stays frozen.
    abortScenarios(() => signalUrl, { aborted: true, returned: false });
  });

  // miniflare 4, what `wrangler dev` runs: its own workerd behind an entry Worker. It declares
  // Node >= 22 and runs on Node 20 (checked here).
  describe('in miniflare, with the defaults', () => {
    exampleScenarios(() => miniflare.url);
    fetchRuntimeScenarios(() => miniflare.url, {
      abort: { aborted: false, returned: false },
      headersWaitForFirstChunk: false,
    });
  });
});
