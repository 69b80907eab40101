/**
 * A server child process: `node --import tsx --expose-gc bench/server.ts <contender> <config>`.
 * Listens on an ephemeral loopback port, tells the parent the port over IPC, then answers the
 * parent's calls for CPU time, memory (after a full GC) and producer counters.
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { contenders } from './contenders.js';
import { type ServerConfig, type ServerStats, serveCalls } from './shared.js';

const [name = '', json = '{}'] = process.argv.slice(2);
const contender = contenders.find((candidate) => candidate.name === name);
if (contender === undefined) throw new Error(`unknown contender ${name}`);
const config = JSON.parse(json) as ServerConfig;
const stats: ServerStats = { offered: 0, sent: 0 };
// Enabled by the soak run only (`loopReset`), so the other runs do not pay for its timer.
const loop = monitorEventLoopDelay({ resolution: 10 });

const server = await contender.create(config, stats);
// Room for the 10,000-connection idle run arriving in bursts.
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const { port } = server.address() as AddressInfo;
  process.send?.({ ready: true, port });
});

const gc = (globalThis as { gc?: () => void }).gc;

serveCalls({
  cpu: () => process.cpuUsage(),
  mem: (args: { gc: boolean }) => {
    if (args.gc && gc !== undefined) {
      gc();
      gc();
    }
    const { rss, heapUsed } = process.memoryUsage();
    return { rss, heapUsed };
  },
  stats: () => ({ ...stats, connections: countConnections() }),
  // A normal exit, so `--cpu-prof` writes its profile.
  exit: () => {
    setImmediate(() => process.exit(0));
    return true;
  },
  resetStats: () => {
    stats.offered = 0;
    stats.sent = 0;
    return true;
  },
  /** Starts (or restarts) the event-loop delay histogram. */
  loopReset: () => {
    loop.enable();
    loop.reset();
    return true;
  },
  /**
   * The event-loop delay since `loopReset`, in ms beyond the histogram's own 10 ms timer (what it
   * records is the whole interval: an idle loop reads about 10.1 ms).
   */
  loopStats: () => ({
    p50: loop.percentile(50) / 1e6 - 10,
    p99: loop.percentile(99) / 1e6 - 10,
    max: loop.max / 1e6 - 10,
  }),
});

function countConnections(): Promise<number> {
  return new Promise((resolve) => server.getConnections((_error, count) => resolve(count)));
}
