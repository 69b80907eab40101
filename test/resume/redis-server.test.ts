/** The test helper that runs a real `redis-server`: free port, PING, stop by PID, restart. */
import { createConnection } from 'node:net';
import { afterAll, expect, it } from 'vitest';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';

async function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('error', reject);
    socket.once('data', (chunk: Buffer) => {
      socket.destroy();
      resolve(chunk.toString());
    });
    socket.once('connect', () => socket.write(`${line}\r\n`));
  });
}

describeWithRedis('test redis-server helper', () => {
  const servers: RedisServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.close();
  });

  it('starts on a free loopback port, with persistence off by default', async () => {
    const redis = await startRedis();
    servers.push(redis);
    expect(redis.port).toBeGreaterThan(0);
    expect(redis.port).not.toBe(6379);
    expect(await command(redis.port, 'CONFIG GET appendonly')).toContain('no');
    expect(await command(redis.port, 'CONFIG GET save')).toMatch(/save\r\n\$0\r\n/);
  });

  it('two servers get two ports; a persistent one keeps data across a restart', async () => {
    const a = await startRedis({ persistent: true });
    const b = await startRedis();
    servers.push(a, b);
    expect(a.port).not.toBe(b.port);
    expect(await command(a.port, 'SET k v')).toBe('+OK\r\n');
    const pid = a.pid;
    await a.restart();
    expect(a.pid).not.toBe(pid);
    expect(await command(a.port, 'GET k')).toBe('$1\r\nv\r\n');
  });

  it('a non-persistent server forgets its data on restart; stop ends the process', async () => {
    const redis = await startRedis();
    servers.push(redis);
    await command(redis.port, 'SET k v');
    await redis.restart();
    expect(await command(redis.port, 'GET k')).toBe('$-1\r\n');
    const pid = redis.pid;
    await redis.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(command(redis.port, 'PING')).rejects.toThrow();
  });
});
