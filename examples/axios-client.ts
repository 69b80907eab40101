/**
 * Reading an ssekit stream with Axios in Node: `responseType: 'stream'` hands over the body as a
 * Node stream, `eventsource-parser` turns its chunks into events, and each token is printed as it
 * arrives. Stops at the `done` event; Ctrl+C aborts the request (and so the generation upstream).
 *
 * Usage: node --import tsx examples/axios-client.ts [baseUrl] [prompt]
 */
import type { Readable } from 'node:stream';
import axios from 'axios';
import { createParser } from 'eventsource-parser';

const baseUrl = process.argv[2] ?? 'http://127.0.0.1:3000';
const prompt = process.argv[3] ?? 'What are Server-Sent Events?';

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());

const response = await axios.post<Readable>(
  `${baseUrl}/api/chat`,
  { prompt },
  {
    responseType: 'stream',
    headers: { accept: 'text/event-stream' },
    signal: controller.signal,
  },
);

let finished = false;
const parser = createParser({
  onEvent(event) {
    if (event.event === 'done') {
      finished = true;
      return;
    }
    if (event.event === 'error') throw new Error(`the server reported: ${event.data}`);
    process.stdout.write(event.data); // one token, as soon as it arrives
  },
});

response.data.setEncoding('utf8');
for await (const chunk of response.data) {
  parser.feed(chunk as string);
  if (finished) break; // leaving the loop destroys the stream and closes the connection
}
process.stdout.write('\n');
if (!finished) {
  console.error('the stream ended without its done event');
  process.exitCode = 1;
}
