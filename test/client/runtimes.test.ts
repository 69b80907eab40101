/**
 * `ssekit/client` in Bun and Deno (both from npm devDependencies), not only Node and Chromium:
 * each runtime runs test/client/runtime-client.js against a hand-written resumable route cut
 * after 4 events, and gets every event exactly once after one reconnect.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ChatLog, startChatServer, type TestServer, tokensFor } from './chat-server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = 'test/client/runtime-client.js';

const runtimes = [
  { name: 'Bun', framework: 'koa', command: 'node_modules/.bin/bun', args: [script] },
  {
    name: 'Deno',
    framework: 'hono',
    command: 'node_modules/.bin/deno',
    // Sloppy imports: the sources import `./x.js` for `./x.ts`, as TypeScript's NodeNext wants.
    args: [
      'run',
      '--allow-net',
      '--allow-read',
      '--allow-env',
      '--unstable-sloppy-imports',
      script,
    ],
  },
] as const;

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function run(command: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd: root, timeout: 30_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${stderr}`, { cause: error })) : resolve(stdout),
    );
  });
}

describe.each(runtimes)('ssekit/client in $name', ({ framework, command, args }) => {
  it(`resumes a stream cut mid-answer on ${framework}: every event once`, async () => {
    const log = new ChatLog();
    log.cuts.push(4);
    server = await startChatServer(framework, log);
    const output = await run(command, [...args, `${server.url}/chat/rt`]);
    const result = JSON.parse(output) as { data: string[]; outcome: string; reconnects: number };
    expect(result.data).toEqual(tokensFor('runtime', log.tokens));
    expect(result).toMatchObject({ outcome: 'done', reconnects: 1 });
    expect(log.runs).toBe(1);
  }, 40_000);
});
