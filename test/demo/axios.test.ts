/**
 * examples/axios-client.ts prints each token as it arrives: run as users run it, against the
 * Express demo, it has printed the first tokens while the emulator holds the rest back.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { answerFor, tokenize } from '../../demo/emulator.js';
import { type Stack, startStack } from './helpers.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

it('prints the answer token by token, before the stream ends, and exits 0 after done', async () => {
  stack = await startStack('express');
  const prompt = 'axios please';
  const tokens = tokenize(answerFor(prompt));
  const release = stack.emulator.hold(4);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'examples/axios-client.ts', stack.demo.url, prompt],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (part: Buffer) => (stderr += part.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (part: Buffer) => {
        stdout += part.toString();
        if (stdout === tokens.slice(0, 4).join('')) resolve();
      });
      void exit.then(() => reject(new Error(`exited early: ${stdout} ${stderr}`)));
    });
    // The first four tokens are printed; the emulator has not sent the fifth yet.
    expect(stack.emulator.log[0]).toMatchObject({ status: 'streaming', tokensSent: 4 });
    release();
    expect(await exit).toBe(0);
    expect(stdout).toBe(answerFor(prompt) + '\n');
  } finally {
    child.kill();
  }
}, 30_000);
