/**
 * Throughput on one and on many connections, and the latency measurement, interleaved on one set
 * of servers (`/burst` and `/delay`), with their tables and the targets against the baseline and
 * the hand-tuned limit.
 * @module
 */
import {
  cell,
  check,
  fixed,
  log,
  median,
  rate,
  ratio,
  Samples,
  sections,
  stopAll,
  table,
} from './harness.js';
import {
  baselineName,
  cpuOf,
  scenarios,
  type Server,
  settings,
  startClient,
  startServers,
  streamers,
} from './setup.js';
import { latencyTable, OPEN, SOURCE } from './latency.js';

interface BurstResult {
  elapsedMs: number;
  events: number;
  bytes: number;
  reads: number;
  chunks: number;
  clientCpuUs: number;
}

/** Runs the throughput and latency measurements interleaved on one set of servers. */
export async function throughputAndLatency(): Promise<void> {
  const servers = await startServers(streamers);
  const client = await startClient();
  try {
    const burst = async (server: Server, conns: number, n: number): Promise<BurstResult> => {
      const result = await client.call<BurstResult>(
        'burst',
        {
          port: server.port,
          path: `/burst?n=${String(n)}`,
          conns,
          timeoutMs: settings.burstTimeoutMs,
        },
        settings.burstTimeoutMs + 5_000,
      );
      if (result.events < conns * n) {
        throw new Error(`received ${String(result.events)} of ${String(conns * n)} events`);
      }
      return result;
    };
    const latency = (server: Server, count: number, route = 'delay') =>
      client.call<{ headersMs: number[]; firstEventMs: number[] }>(
        'latency',
        {
          port: server.port,
          path: `/${route}?ms=${String(settings.delayMs)}`,
          count,
          timeoutMs: 10_000,
        },
        60_000,
      );

    log('warm-up');
    for (const server of servers) {
      try {
        await burst(server, 1, settings.warmupEvents);
        await burst(server, 10, settings.warmupEvents / 10);
        await latency(server, 3);
      } catch (error) {
        log(`warm-up of ${server.contender.name} failed:`, (error as Error).message);
      }
    }

    const runs = [
      { key: 'one', conns: 1, n: settings.oneConnEvents },
      { key: 'many', conns: settings.manyConns, n: settings.manyConnEvents },
    ];
    const samples = new Samples();
    for (let rep = 0; rep < settings.repetitions; rep++) {
      if (scenarios.has('throughput')) {
        for (const run of runs) {
          log(`throughput ${String(run.conns)}×${String(run.n)} rep ${String(rep + 1)}`);
          for (const server of servers) {
            const name = server.contender.name;
            try {
              const cpu0 = await cpuOf(server);
              const result = await burst(server, run.conns, run.n);
              const cpu1 = await cpuOf(server);
              const events = run.conns * run.n;
              samples.add(`${run.key}/${name}/rate`, events / (result.elapsedMs / 1000));
              samples.add(`${run.key}/${name}/cpu`, (cpu1 - cpu0) / events);
              samples.add(`${run.key}/${name}/client`, result.clientCpuUs / events);
              samples.add(`${run.key}/${name}/perChunk`, events / result.chunks);
              samples.add(`${run.key}/${name}/perRead`, events / result.reads);
            } catch (error) {
              samples.fail(`${run.key}/${name}`, error);
            }
          }
        }
      }
      if (scenarios.has('latency')) {
        log(`latency rep ${String(rep + 1)}`);
        for (const server of servers) {
          const name = server.contender.name;
          const routes = name.startsWith('ssekit') ? ['delay', 'open', 'source'] : ['delay'];
          for (const route of routes) {
            const suffix = route === 'open' ? OPEN : route === 'source' ? SOURCE : '';
            const key = `latency/${name}${suffix}`;
            try {
              const result = await latency(server, settings.latencyRequests, route);
              samples.add(`${key}/headers`, median(result.headersMs));
              samples.add(`${key}/event`, median(result.firstEventMs));
            } catch (error) {
              samples.fail(key, error);
            }
          }
        }
      }
    }

    if (scenarios.has('throughput')) throughputTables(samples, runs);
    if (scenarios.has('latency')) latencyTable(samples);
  } finally {
    await stopAll([client, ...servers.map((server) => server.child)]);
  }
}

function throughputTables(
  samples: Samples,
  runs: { key: string; conns: number; n: number }[],
): void {
  const base = baselineName();
  for (const run of runs) {
    const baseRate = samples.median(`${run.key}/${base}/rate`);
    const baseCpu = samples.median(`${run.key}/${base}/cpu`);
    const rows = streamers.map((contender) => {
      const name = contender.name;
      const failure = samples.failure(`${run.key}/${name}`);
      const rates = samples.get(`${run.key}/${name}/rate`);
      const cpu = samples.get(`${run.key}/${name}/cpu`);
      const [rateMid, rateRange] = cell(rates, rate);
      const [cpuMid, cpuRange] = cell(cpu, fixed(2));
      return [
        name + (failure ? ` (failed: ${failure})` : ''),
        rateMid,
        rateRange,
        ratio(median(rates), baseRate),
        cpuMid,
        cpuRange,
        ratio(median(cpu), baseCpu),
        fixed(2)(samples.median(`${run.key}/${name}/client`)),
        fixed(1)(samples.median(`${run.key}/${name}/perChunk`)),
        fixed(0)(samples.median(`${run.key}/${name}/perRead`)),
      ];
    });
    const label = `${String(run.conns)} connection${run.conns === 1 ? '' : 's'} × ${run.n.toLocaleString('en')} events`;
    sections.push(
      `## Throughput: ${label}\n\n5-byte token events; events/s as the client counts them (\`\\n\\n\`), ` +
        `server CPU (user + system) per event from the server process.\n\n` +
        table(
          [
            'contender',
            'events/s',
            'min–max',
            '× baseline',
            'server CPU µs/event',
            'min–max',
            '× baseline',
            'client CPU µs/event',
            'events/HTTP chunk',
            'events/read',
          ],
          rows,
        ),
    );
    const rateOf = (name: string): number => samples.median(`${run.key}/${name}/rate`) / baseRate;
    const cpuOfName = (name: string): number => samples.median(`${run.key}/${name}/cpu`) / baseCpu;
    const where = `${String(run.conns)} conn`;
    const tuned = 'node:http hand-tuned';
    const tunedRate = samples.median(`${run.key}/${tuned}/rate`);
    const tunedCpu = samples.median(`${run.key}/${tuned}/cpu`);
    for (const name of ['ssekit/node', 'ssekit/express', 'ssekit/fastify']) {
      if (!streamers.some((c) => c.name === name)) continue;
      // Issue 12's bar: the hand-tuned limit, not the one-write-per-frame baseline.
      if (streamers.some((c) => c.name === tuned)) {
        check(
          `${name} events/s ≥ 0.9× hand-tuned (${where})`,
          samples.median(`${run.key}/${name}/rate`) / tunedRate,
          0.9,
          true,
          fixed(2, '×'),
        );
        check(
          `${name} CPU/event ≤ 1.15× hand-tuned (${where})`,
          samples.median(`${run.key}/${name}/cpu`) / tunedCpu,
          1.15,
          false,
          fixed(2, '×'),
        );
      }
      check(`${name} events/s ≥ 0.9× baseline (${where})`, rateOf(name), 0.9, true, fixed(2, '×'));
      check(
        `${name} CPU/event ≤ 1.15× baseline (${where})`,
        cpuOfName(name),
        1.15,
        false,
        fixed(2, '×'),
      );
    }
    if (streamers.some((c) => c.name === 'ssekit/koa')) {
      check(
        `ssekit/koa events/s ≥ 0.8× baseline (${where})`,
        rateOf('ssekit/koa'),
        0.8,
        true,
        fixed(2, '×'),
      );
    }
    if (streamers.some((c) => c.name === 'ssekit/hono')) {
      const hono = samples.median(`${run.key}/hono streamSSE/rate`);
      check(
        `ssekit/hono events/s ≥ 2× hono streamSSE (${where})`,
        samples.median(`${run.key}/ssekit/hono/rate`) / hono,
        2,
        true,
        fixed(2, '×'),
      );
    }
  }
}

/** The suffix of the latency rows for ssekit endpoints with `open: true`. */
