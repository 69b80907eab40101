/**
 * A process-wide `drain()` (issue 12, item 1) covers every ssekit stream of the process: Node
 * responses on any server, WHATWG streams (`toSseStream`, `toSseResponse`) and Hono on a fetch
 * runtime, which know no server. In a file of its own: a drain cannot be undone.
 */
import { createServer } from 'node:http';
import { Hono } from 'hono';
import { drain, isDraining, type SseWriter, toSseResponse, toSseStream } from 'ssekit';
import { sse as honoSse } from 'ssekit/hono';
import { sse } from 'ssekit/node';
import { expect, it } from 'vitest';
import { EventReader, rawRequest } from './conformance/clients.js';
import { aborted, serve } from './integrations/helpers.js';

async function hold(writer: SseWriter): Promise<void> {
  await writer.send('open');
  await aborted(writer.signal);
}

function webReader(body: ReadableStream<Uint8Array>): EventReader {
  return new EventReader(body);
}

it('ends Node, web and fetch-runtime Hono streams alike, and refuses new ones on each with 503', async () => {
  const url = await serve(createServer(sse(hold)));
  const node = new EventReader((await rawRequest(url)).res);
  const web = webReader(toSseStream(hold));
  const app = new Hono();
  app.get('/s', honoSse(hold));
  const honoResponse = await app.request('/s'); // no Node server: the web stream path
  const hono = webReader(honoResponse.body as ReadableStream<Uint8Array>);
  await Promise.all([node.waitFor(1), web.waitFor(1), hono.waitFor(1)]);

  expect(isDraining()).toBe(false);
  const drained = drain({ window: 0, deadline: 5_000, retry: 50, retryJitter: 0, retryAfter: 2 });
  expect(isDraining()).toBe(true);
  expect(isDraining({})).toBe(true); // every server is covered

  const refused = await rawRequest(url);
  expect(refused.res.statusCode).toBe(503);
  expect(refused.res.headers['retry-after']).toBe('2');
  refused.res.resume();
  const response = await toSseResponse(hold);
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('2');
  expect(await response.text()).toBe('Service Unavailable');
  const honoRefused = await app.request('/s');
  expect(honoRefused.status).toBe(503);
  expect(honoRefused.headers.get('retry-after')).toBe('2');

  const result = await drained;
  expect(result).toMatchObject({ streams: 3, ended: 3, cut: 0 });
  for (const reader of [node, web, hono]) {
    await reader.ended;
    expect(reader.events.map((e) => [e.event, e.data])).toEqual([
      [undefined, 'open'],
      ['ssekit.drain', '{"reason":"drain","retry":50}'],
    ]);
  }
  // A stream started past the drain without an adapter (toSseStream) is ended at once.
  const late = webReader(toSseStream(hold));
  await late.ended;
  expect(late.events.map((e) => e.event)).toEqual([undefined, 'ssekit.drain']);
});
