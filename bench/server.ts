/**
 * A server child process: `node --import tsx --expose-gc bench/server.ts <contender> <config>`.
 * Listens on an ephemeral loopback port, tells the parent the port over IPC, then answers the
 * parent's calls for CPU time, memory (after a full GC) and producer counters.
 */
import type { AddressInfo } from 'node:net';
import { contenders } from './contenders.js';
import { type ServerConfig, type ServerStats, serveCalls } from './shared.js';

const [name = '', json = '{}'] = process.argv.slice(2);
const contender = contenders.find((candidate) => candidate.name === name);
if (contender === undefined) throw new Error(`unknown contender ${name}`);
const config = JSON.parse(json) as ServerConfig;
const stats: ServerStats = { offered: 0 };

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
    return true;
  },
});

function countConnections(): Promise<number> {
  return new Promise((resolve) => server.getConnections((_error, count) => resolve(count)));
}
