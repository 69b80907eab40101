/**
 * The slow consumer: peak server RSS while one client reads 1 KB/s from a producer that offers
 * far more (backpressure).
 * @module
 */
import {
  cell,
  check,
  fixed,
  log,
  type Memory,
  Samples,
  sections,
  sleep,
  stopAll,
  table,
} from './harness.js';
import { settings, startClient, startServers, streamers } from './setup.js';

/** Runs the slow-consumer measurement and writes its table and targets. */
export async function slowScenario(): Promise<void> {
  const samples = new Samples();
  const tickMs = 250;
  for (let rep = 0; rep < settings.repetitions; rep++) {
    log(`slow consumer rep ${String(rep + 1)}`);
    const servers = await startServers(streamers);
    const client = await startClient();
    try {
      const before = await Promise.all(
        servers.map((server) => server.child.call<Memory>('mem', { gc: true })),
      );
      const peak = before.map((memory) => memory.rss);
      for (const server of servers) {
        await client.call('slow', {
          port: server.port,
          path: `/slow?bytes=${String(settings.slowOffered)}`,
          bytesPerTick: 1024 * (tickMs / 1000),
          tickMs,
        });
      }
      const deadline = Date.now() + settings.slowMs;
      while (Date.now() < deadline) {
        await sleep(tickMs);
        const now = await Promise.all(
          servers.map((server) => server.child.call<Memory>('mem', { gc: false })),
        );
        now.forEach((memory, i) => (peak[i] = Math.max(peak[i] as number, memory.rss)));
      }
      const offered = await Promise.all(
        servers.map((server) => server.child.call<{ offered: number }>('stats')),
      );
      const read = await client.call<number[]>('slowStats');
      servers.forEach((server, i) => {
        const key = `slow/${server.contender.name}`;
        samples.add(`${key}/rss`, ((peak[i] as number) - (before[i] as Memory).rss) / 1024 / 1024);
        samples.add(`${key}/offered`, (offered[i]?.offered ?? 0) / 1024 / 1024);
        samples.add(`${key}/read`, (read[i] ?? 0) / 1024);
      });
    } finally {
      await client.call('closeAll').catch(() => false);
      await stopAll([client, ...servers.map((server) => server.child)]);
    }
  }
  const rows = streamers.map((contender) => {
    const key = `slow/${contender.name}`;
    return [
      contender.name,
      ...cell(samples.get(`${key}/rss`), fixed(1)),
      fixed(1)(samples.median(`${key}/offered`)),
      fixed(0)(samples.median(`${key}/read`)),
    ];
  });
  sections.push(
    `## Slow consumer\n\nOne client reading 1 KB/s for ${String(settings.slowMs / 1000)} s while ` +
      `the producer offers ${String(settings.slowOffered / 1024 / 1024)} MB in 1 KB events; ` +
      'peak server RSS growth over the GC-ed RSS before the request, and how much the producer had ' +
      'offered by the end (a producer that honours backpressure is paused after the socket buffers ' +
      'fill).\n\n' +
      table(['contender', 'RSS growth MB', 'min–max', 'offered MB', 'client read KB'], rows),
  );
  for (const contender of streamers) {
    if (!contender.name.startsWith('ssekit')) continue;
    check(
      `${contender.name} slow-consumer RSS growth ≤ 5 MB`,
      samples.median(`slow/${contender.name}/rss`),
      5,
      false,
      fixed(1, ' MB'),
    );
  }
}
