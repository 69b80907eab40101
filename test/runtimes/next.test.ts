/**
 * ssekit in Next.js (the `next` npm package, App Router): the fixture app of fixtures/next, built
 * with `next build` and served with `next start`, importing the built package; the scenarios of
 * the shared fetch app (as one catch-all route handler) and a documented route handler.
 *
 * The build runs in a temporary copy, so nothing (`.next/`, a generated tsconfig) lands in the
 * repository: fixtures/app.ts transpiled to app.js beside the app, and a node_modules of links
 * (`ssekit` → this repository, whose `exports` lead to dist/; next, react, react-dom, hono).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventReader } from '../conformance/clients.js';
import { fetchRuntimeScenarios } from './scenarios.js';
import {
  bin,
  cannotRun,
  fixtures,
  requireBuild,
  root,
  type RuntimeServer,
  skipRuntime,
  startServer,
} from './server.js';

const run = promisify(execFile);

/** The deepest directory holding every path (Turbopack's root must hold every file it reads). */
function commonAncestor(paths: string[]): string {
  const split = paths.map((path) => realpathSync(path).split(sep));
  const first = split[0] ?? [];
  let length = 0;
  while (length < first.length && split.every((parts) => parts[length] === first[length])) {
    length++;
  }
  return first.slice(0, length).join(sep) || sep;
}

const env = { NEXT_TELEMETRY_DISABLED: '1' };

describe.skipIf(skipRuntime('Next.js', cannotRun(bin('next'), ['--version'])))('Next.js', () => {
  let server: RuntimeServer;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), 'ssekit-next-'));
    const app = join(dir, 'fixtures/next');
    cpSync(join(fixtures, 'next'), app, { recursive: true });
    await build({
      entryPoints: [join(fixtures, 'app.ts')],
      format: 'esm',
      outfile: join(dir, 'fixtures/app.js'),
      logLevel: 'error',
    });
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules/ssekit'), 'dir');
    for (const name of ['next', 'react', 'react-dom', 'hono']) {
      symlinkSync(
        dirname(realpathSync(join(root, 'node_modules', name, 'package.json'))),
        join(dir, 'node_modules', name),
        'dir',
      );
    }
    const buildEnv = {
      ...process.env,
      ...env,
      SSEKIT_NEXT_ROOT: commonAncestor([dir, root, join(root, 'node_modules')]),
    };
    const started = Date.now();
    await run(bin('next'), ['build'], { cwd: app, env: buildEnv, timeout: 170_000 });
    console.log(`next build took ${String(Date.now() - started)} ms`);
    server = await startServer(bin('next'), ['start', '-p', '0', '-H', '127.0.0.1'], {
      cwd: app,
      env,
      port: /Local:\s+http:\/\/127\.0\.0\.1:(\d+)/,
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('streams from the documented route handler, through Next’s compression', async () => {
    const response = await fetch(`${server.url}/chat?prompt=hi`, {
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('content-encoding')).toBeNull();
    const events = new EventReader(response.body as ReadableStream<Uint8Array>);
    await events.ended;
    expect(events.raw).toBe(':\n\ndata: You said: \n\ndata: hi\n\ndata: [DONE]\n\n');
  });

  fetchRuntimeScenarios(() => server.url, {
    abort: { aborted: true, returned: true },
    headersWaitForFirstChunk: true,
  });
});
