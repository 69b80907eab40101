/**
 * The demo drains on SIGTERM (issue 12, item 1): spawned as `npm start` runs it, with streams
 * open on each app, SIGTERM makes new stream requests get 503, every open stream gets a `retry:`
 * hint and `event: ssekit.drain` before it closes, and the process exits by itself before the
 * deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
let child: ChildProcess | undefined;

afterEach(() => {
  // Only if the test failed before the child exited: stop it by its PID.
  if (child?.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  child = undefined;
});

/** Resolves with the child's output once `pattern` appears in it. */
function waitForOutput(
  output: { text: string },
  pattern: RegExp,
  proc: ChildProcess,
): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const match = output.text.match(pattern);
      if (match) {
        proc.stdout?.off('data', check);
        resolve(match);
      }
    };
    proc.stdout?.on('data', check);
    proc.once('exit', () => reject(new Error(`exited before ${String(pattern)}:\n${output.text}`)));
    check();
  });
}

it('drains on SIGTERM: 503 for new streams, retry: and ssekit.drain for open ones, then exits by itself', async () => {
  const WINDOW = 1_000;
  const DEADLINE = 8_000;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'demo/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      PORT_EXPRESS: '0',
      PORT_KOA: '0',
      PORT_HONO: '0',
      PORT_EMULATOR: '0',
      EMULATOR_DELAY_MS: '200',
      DRAIN_WINDOW_MS: String(WINDOW),
      DRAIN_DEADLINE_MS: String(DEADLINE),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const output = { text: '' };
  proc.stdout.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  proc.stderr.on('data', (chunk: Buffer) => (output.text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => resolve(code)),
  );
  await waitForOutput(output, /Press Ctrl\+C/, proc);
  expect(output.text).toContain(`drain over ${WINDOW} ms, deadline ${DEADLINE} ms`);
  const urls = [
    ...output.text.matchAll(/^ {2}(express|koa|hono) +(http:\/\/127\.0\.0\.1:\d+)\//gm),
  ].map((m) => m[2] as string);
  expect(urls).toHaveLength(3);

  // One open stream per app, each past its first token.
  const streams = await Promise.all(
    urls.map(async (url) => {
      const response = await fetch(`${url}/api/chat?prompt=Tell%20me%20about%20drains`);
      expect(response.status).toBe(200);
      if (response.body === null) throw new Error('no body');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      const stream = { text: '', ended: Promise.resolve() };
      const first = (await reader.read()).value ?? '';
      stream.text += first;
      while (!stream.text.includes('data: ')) stream.text += (await reader.read()).value ?? '';
      stream.ended = (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          stream.text += value;
        }
      })();
      return stream;
    }),
  );

  const signalledAt = Date.now();
  proc.kill('SIGTERM');
  await waitForOutput(output, /SIGTERM: draining/, proc);
  for (const url of urls) {
    const refused = await fetch(`${url}/api/chat?prompt=late`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused.headers.get('content-type')).not.toBe('text/event-stream');
    await refused.text();
  }
  for (const stream of streams) {
    await stream.ended;
    expect(stream.text).toMatch(
      /event: ssekit\.drain\nretry: \d+\ndata: \{"reason":"drain","retry":\d+\}\n\n$/,
    );
    expect(stream.text).not.toContain('[DONE]');
  }
  expect(await exited).toBe(0);
  expect(Date.now() - signalledAt).toBeLessThan(DEADLINE);
  expect(output.text).toMatch(/drained in \d+ ms: 3 ended, 0 finished, 0 cut/);
}, 30_000);
