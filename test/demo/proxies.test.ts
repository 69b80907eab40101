/**
 * Compression middleware in front of the demo does not hold the stream back: ssekit's
 * `Cache-Control: no-transform` makes express `compression()` and Hono's `compress()` pass the
 * frames through, so the first tokens arrive while the generation is still held upstream, even
 * for a client that accepts gzip (what `curl --compressed` and browsers send).
 */
import { createServer } from 'node:http';
import { createAdaptorServer } from '@hono/node-server';
import compression from 'compression';
import express from 'express';
import { Hono } from 'hono';
import { compress } from 'hono/compress';
import { afterEach, describe, expect, it } from 'vitest';
import { createExpressApp } from '../../demo/apps/express.js';
import { createHonoApp } from '../../demo/apps/hono.js';
import { answerFor, type Emulator, startEmulator, tokenize } from '../../demo/emulator.js';
import { createLlm } from '../../demo/llm.js';
import { listen, type DemoServer } from '../../demo/serve.js';

let emulator: Emulator | undefined;
let demo: DemoServer | undefined;
afterEach(async () => {
  await demo?.close();
  await emulator?.close();
  demo = emulator = undefined;
});

const behindCompression = {
  async express(llm: ReturnType<typeof createLlm>): Promise<DemoServer> {
    const app = express();
    app.use(compression({ threshold: 0 }));
    app.use(createExpressApp(llm));
    return listen(createServer(app));
  },
  async hono(llm: ReturnType<typeof createLlm>): Promise<DemoServer> {
    const app = new Hono();
    app.use(compress());
    app.route('/', createHonoApp(llm));
    return listen(createAdaptorServer({ fetch: app.fetch }) as ReturnType<typeof createServer>);
  },
};

describe.each(['express', 'hono'] as const)('%s behind compression middleware', (framework) => {
  it('sends the first tokens uncompressed before the generation ends', async () => {
    emulator = await startEmulator({ tokenDelay: 0 });
    demo = await behindCompression[framework](createLlm(emulator.baseURL, {}));
    const release = emulator.hold(3);
    const response = await fetch(`${demo.url}/api/chat?prompt=gzip`, {
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(response.headers.get('content-encoding')).toBeNull();
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const expected = tokenize(answerFor('gzip'))
      .slice(0, 3)
      .map((token) => `data: ${token}\n\n`)
      .join('');
    while (text.length < expected.length) text += (await reader.read()).value ?? '';
    expect(text).toBe(expected);
    expect(emulator.log[0]?.status).toBe('streaming');
    release();
    await reader.cancel();
  });
});
