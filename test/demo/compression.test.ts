/**
 * The demo apps mount compression app-wide (`compression()` on Express, `koa-compress` on Koa,
 * Hono's `compress()`), so the `curl --compressed` lines the demo prints show that ssekit's
 * streams get through it: the page is compressed, and the tokens of a stream still arrive one by
 * one while the generation is held upstream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answerFor, tokenize } from '../../demo/emulator.js';
import { frameworks, type Stack, startStack } from './helpers.js';

const GZIP = { 'accept-encoding': 'gzip, deflate, br' };

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

describe.each(frameworks)('the %s demo app', (framework) => {
  it('compresses its page for a client that accepts gzip (the middleware is mounted)', async () => {
    stack = await startStack(framework);
    const response = await fetch(`${stack.demo.url}/`, { headers: GZIP });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-encoding')).toMatch(/^(gzip|br|deflate)$/);
    expect(await response.text()).toContain('<html');
  });

  it('still streams /api/chat token by token under it, while the generation is held upstream', async () => {
    stack = await startStack(framework);
    const { emulator, demo } = stack;
    const release = emulator.hold(3);
    const response = await fetch(`${demo.url}/api/chat?prompt=gzip`, { headers: GZIP });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('content-encoding')).toBeNull();
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const expected = tokenize(answerFor('gzip'))
      .slice(0, 3)
      .map((token) => `data: ${token}\n\n`)
      .join('');
    let text = '';
    while (text.length < expected.length) text += (await reader.read()).value ?? '';
    expect(text).toBe(expected);
    expect(emulator.log[0]?.status).toBe('streaming'); // the answer is not finished: no buffering
    release();
    await reader.cancel();
  });
});
