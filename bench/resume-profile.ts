/**
 * A focused in-process harness for profiling resumable streams: `node --cpu-prof --import tsx
 * bench/resume-profile.ts [off|memory|redis] [events] [conns]`. One `node:http` server and a raw
 * `node:net` client in this process: each connection runs one generation of `events` 5-byte
 * tokens (the producer awaiting every `send()`); prints events/s. For profiles and quick A/B
 * checks only: the figures to quote come from bench/resume.ts and bench/resume-redis.ts.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { createClient } from 'redis';
import type { SseWriter } from 'ssekit';
import { sendSse } from 'ssekit/node';
import { fromNodeRedis, redisStore } from 'ssekit/redis';
import { createResumable, memoryStore, type ResumeStore } from 'ssekit/resume';
import { startRedis } from '../test/helpers/redis-server.js';
import { TOKEN } from './shared.js';

const [mode = 'memory', eventsArg = '200000', connsArg = '1'] = process.argv.slice(2);
const events = Number(eventsArg);
const conns = Number(connsArg);

let stopRedis: (() => Promise<void>) | undefined;
let store: ResumeStore | undefined;
if (mode === 'memory') store = memoryStore({ retention: { afterDoneMs: 1_000 } });
if (mode === 'redis') {
  const redis = await startRedis();
  stopRedis = () => redis.stop();
  const client = createClient({ url: redis.url });
  await client.connect();
  store = redisStore({ client: fromNodeRedis(client), retention: { afterDoneMs: 1_000 } });
}
const resumable = store === undefined ? undefined : createResumable({ store, continueForMs: 0 });
let next = 0;
const burst = async (writer: SseWriter): Promise<void> => {
  for (let i = 0; i < events; i++) await writer.send(TOKEN);
};
const server = createServer((req, res) => {
  if (resumable === undefined) return void sendSse(res, burst, { heartbeat: false });
  void resumable.start(`b${next++}`, burst).then(async (reply) => {
    for (const [header, value] of Object.entries(reply.headers)) res.setHeader(header, value);
    await sendSse(res, reply.source as AsyncIterable<unknown>, { heartbeat: false });
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;

/** One request; resolves with the number of events (counted by `\n\n`) when the response ends. */
function get(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let count = 0;
    let last = 0;
    socket.on('data', (buf: Buffer) => {
      for (let i = 0; i < buf.length; i++) {
        const c = buf[i] as number;
        if (c === 10 && last === 10) count++;
        if (c !== 13) last = c;
      }
      if (buf.includes('0\r\n\r\n')) socket.end();
    });
    socket.on('end', () => resolve(count));
    socket.on('error', reject);
    socket.write(`GET /burst HTTP/1.1\r\nHost: x\r\n\r\n`);
  });
}

const cpu0 = process.cpuUsage();
const started = performance.now();
const counts = await Promise.all(Array.from({ length: conns }, get));
const ms = performance.now() - started;
const total = counts.reduce((a, b) => a + b, 0);
const cpu = process.cpuUsage(cpu0);
console.log(
  `${mode}: ${total} events in ${ms.toFixed(0)} ms: ${Math.round(total / (ms / 1000))} events/s, ${((cpu.user + cpu.system) / total).toFixed(3)} µs CPU/event (server and client)`,
);
server.close();
await resumable?.close();
await stopRedis?.();
process.exit(0);
