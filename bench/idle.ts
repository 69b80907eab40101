/**
 * Idle streams: memory and CPU per open connection with heartbeats on, every contender's server
 * at once, and ssekit's own cost over the naive stream on the same framework (issue 12, item 5).
 * @module
 */
import type { Child } from './harness.js';
import {
  cell,
  check,
  CLIENT_CONNECTIONS,
  fixed,
  log,
  median,
  type Memory,
  ratio,
  Samples,
  sections,
  sleep,
  stopAll,
  table,
} from './harness.js';
import {
  baselineName,
  contenders,
  cpuOf,
  type Server,
  settings,
  startClient,
  startServers,
} from './setup.js';

/** Runs the idle measurement at every size of this mode and writes its tables. */
export async function idleScenario(): Promise<void> {
  const samples = new Samples();
  const largest = Math.max(...settings.idleSizes);
  const poolSize = Math.ceil((largest * contenders.length) / CLIENT_CONNECTIONS);
  const clients: Child[] = [];
  const servers = await startServers(contenders, largest);
  try {
    for (let i = 0; i < poolSize; i++) clients.push(await startClient(CLIENT_CONNECTIONS));
    await idleRun(servers, clients, samples);
  } finally {
    await Promise.all(clients.map((client) => client.call('closeAll').catch(() => false)));
    await stopAll([...clients, ...servers.map((server) => server.child)]);
  }
  idleTables(samples);
}

/**
 * Every contender's server at once (each in its own process, so memory and CPU are its own);
 * connections opened up to each size in turn, then the repetitions: idle windows one after the
 * other, memory measured after a full GC at the end of each. Opening 10,000s of connections is
 * most of the cost, so the repetitions share one set of connections.
 */
async function idleRun(servers: Server[], clients: Child[], samples: Samples): Promise<void> {
  const open = (server: Server, index: number, client: Child, conns: number) => {
    const timeoutMs = 120_000 + 40 * conns * clients.length;
    return client.call(
      'open',
      {
        port: server.port,
        path: '/idle',
        conns,
        parallel: 50,
        timeoutMs,
        localAddress: `127.0.1.${String(index + 1)}`,
      },
      timeoutMs + 30_000,
    );
  };
  const heldOf = async (server: Server): Promise<number> => {
    const stats = await Promise.all(
      clients.map((client) =>
        client.call<{ events: number; open: number }>('heldStats', { port: server.port }),
      ),
    );
    return stats.reduce((sum, { events }) => sum + events, 0);
  };
  // Warm up every code path, then let the closes land before the reference measurement.
  const first = clients[0] as Child;
  await Promise.all(servers.map((server, i) => open(server, i, first, 20)));
  await Promise.all(clients.map((client) => client.call('closeAll')));
  await sleep(300);
  const before = await Promise.all(
    servers.map((server) => server.child.call<Memory>('mem', { gc: true })),
  );
  const failed = new Set<string>();
  let opened = 0;
  for (const size of settings.idleSizes) {
    const more = size - opened;
    await Promise.all(
      servers.map(async (server, i) => {
        if (failed.has(server.contender.name)) return;
        try {
          const share = Math.ceil(more / clients.length);
          await Promise.all(
            clients.map((client, c) =>
              open(server, i, client, Math.max(0, Math.min(share, more - c * share))),
            ),
          );
        } catch (error) {
          failed.add(server.contender.name);
          samples.fail(`${String(size)}/${server.contender.name}`, error);
        }
      }),
    );
    opened = size;
    for (let rep = 0; rep < settings.repetitions; rep++) {
      log(`idle ${String(size)}: window ${String(rep + 1)}`);
      const frames0 = await Promise.all(servers.map(heldOf));
      const cpu0 = await Promise.all(servers.map(cpuOf));
      await sleep(settings.idleMs);
      const cpu1 = await Promise.all(servers.map(cpuOf));
      const frames1 = await Promise.all(servers.map(heldOf));
      const after = await Promise.all(
        servers.map((server) => server.child.call<Memory>('mem', { gc: true })),
      );
      servers.forEach((server, i) => {
        const name = server.contender.name;
        if (failed.has(name)) return;
        const key = `${String(size)}/${name}`;
        const m0 = before[i] as Memory;
        const m1 = after[i] as Memory;
        samples.add(`${key}/rss`, (m1.rss - m0.rss) / size / 1024);
        samples.add(`${key}/heap`, (m1.heapUsed - m0.heapUsed) / size / 1024);
        samples.add(`${key}/beats`, ((frames1[i] as number) - (frames0[i] as number)) / size);
        samples.add(
          `${key}/cpu`,
          ((cpu1[i] as number) - (cpu0[i] as number)) / size / (settings.idleMs / 1000),
        );
      });
    }
  }
}

function idleTables(samples: Samples): void {
  const base = baselineName();
  for (const size of settings.idleSizes) {
    const baseRss = samples.median(`${String(size)}/${base}/rss`);
    const baseHeap = samples.median(`${String(size)}/${base}/heap`);
    const rows = contenders.map((contender) => {
      const key = `${String(size)}/${contender.name}`;
      const failure = samples.failure(key);
      const rss = samples.get(`${key}/rss`);
      const heap = samples.get(`${key}/heap`);
      return [
        contender.name + (failure ? ` (failed: ${failure})` : ''),
        ...cell(rss, fixed(1)),
        ratio(median(rss), baseRss),
        ...cell(heap, fixed(1)),
        ratio(median(heap), baseHeap),
        fixed(1)(samples.median(`${key}/beats`)),
        fixed(2)(samples.median(`${key}/cpu`)),
      ];
    });
    sections.push(
      `## Idle: ${size.toLocaleString('en')} open connections\n\nOne event each, then ` +
        `idle windows of ${String(settings.idleMs)} ms with a heartbeat every ${String(settings.heartbeatMs)} ms; ` +
        'memory per connection after a full GC at the end of each window, against the same server ' +
        'before the connections (KB). All contenders run at once, each server in its own process; ' +
        'the sizes are reached in turn on the same servers, and the repetitions are consecutive ' +
        'windows on the same connections (opening them is most of the cost). Heartbeats/conn counts ' +
        'the frames each connection received during a window (about window ÷ interval when ' +
        'heartbeats are on).\n\n' +
        table(
          [
            'contender',
            'RSS KB/conn',
            'min–max',
            '× baseline',
            'heap KB/conn',
            'min–max',
            '× baseline',
            'heartbeats/conn',
            'idle CPU µs/conn/s',
          ],
          rows,
        ),
    );
    idlePairs(samples, size);
    for (const contender of contenders) {
      if (!contender.name.startsWith('ssekit')) continue;
      check(
        `${contender.name} idle RSS/conn ≤ 1.3× baseline (${size.toLocaleString('en')} conns)`,
        samples.median(`${String(size)}/${contender.name}/rss`) / baseRss,
        1.3,
        false,
        fixed(2, '×'),
      );
    }
  }
}

/** Each ssekit adapter beside the naive stream on the same framework (issue 12, item 5). */
const NAIVE: Record<string, string> = {
  'ssekit/node': 'node:http baseline',
  'ssekit/express': 'express res.write',
  'ssekit/koa': 'koa res.write',
  'ssekit/hono': 'hono outgoing.write',
  'ssekit/fastify': 'fastify raw.write',
};

/** ssekit's own cost per idle stream: its RSS and heap per connection less the naive one's. */
function idlePairs(samples: Samples, size: number): void {
  const rows: string[][] = [];
  for (const [name, naive] of Object.entries(NAIVE)) {
    if (!contenders.some((c) => c.name === name) || !contenders.some((c) => c.name === naive))
      continue;
    const of = (who: string, what: string): number =>
      samples.median(`${String(size)}/${who}/${what}`);
    const rss = of(name, 'rss') - of(naive, 'rss');
    const heap = of(name, 'heap') - of(naive, 'heap');
    rows.push([name, naive, fixed(2)(rss), fixed(2)(heap)]);
    const where = `${size.toLocaleString('en')} conns`;
    check(`${name} idle RSS over ${naive} ≤ 2 KB (${where})`, rss, 2, false, fixed(2, ' KB'));
    check(`${name} idle heap over ${naive} ≤ 2 KB (${where})`, heap, 2, false, fixed(2, ' KB'));
  }
  if (rows.length === 0) return;
  sections.push(
    `## Idle: ssekit's own cost per stream, ${size.toLocaleString('en')} open connections\n\n` +
      'Median RSS and heap per connection of each ssekit adapter less those of the naive stream ' +
      '(headers, one frame, a heartbeat `setInterval` with `res.write`) on the same framework, ' +
      'measured in the same windows (KB; negative: ssekit costs less).\n\n' +
      table(
        ['ssekit', 'naive, same framework', 'RSS KB/conn over naive', 'heap KB/conn over naive'],
        rows,
      ),
  );
}
