/**
 * The four Redis clients the store supports (node-redis v6 and v5, ioredis v6 and v5), each
 * connected to a test server and wrapped in its adapter.
 */
import { Redis as IORedis6 } from 'ioredis';
import { Redis as IORedis5 } from 'ioredis5';
import { createClient as createClient6 } from 'redis';
import { createClient as createClient5 } from 'redis5';
import { fromIORedis, fromNodeRedis, type RedisConnection } from 'ssekit/redis';

/** A connected client and how to close it. */
export interface TestClient {
  readonly connection: RedisConnection;
  /** Raw command on the same server (for assertions). */
  readonly command: (args: string[]) => Promise<unknown>;
  readonly close: () => Promise<void>;
}

/** The client matrix: name → connect(url). */
export const clients: Record<string, (url: string) => Promise<TestClient>> = {
  'redis v6': async (url) => {
    const client = createClient6({ url });
    client.on('error', () => {}); // outages surface as typed store errors; tests assert those
    await client.connect();
    return {
      connection: fromNodeRedis(client),
      command: (args) => client.sendCommand(args),
      close: () => Promise.resolve(client.destroy()),
    };
  },
  'redis v5': async (url) => {
    const client = createClient5({ url });
    client.on('error', () => {});
    await client.connect();
    return {
      connection: fromNodeRedis(client),
      command: (args) => client.sendCommand(args),
      close: () => Promise.resolve(client.destroy()),
    };
  },
  'ioredis v6': async (url) => {
    const client = new IORedis6(url);
    client.on('error', () => {});
    await client.ping();
    return {
      connection: fromIORedis(client),
      command: ([name = '', ...args]) => client.call(name, ...args),
      close: () => Promise.resolve(client.disconnect()),
    };
  },
  'ioredis v5': async (url) => {
    const client = new IORedis5(url);
    client.on('error', () => {});
    await client.ping();
    return {
      connection: fromIORedis(client),
      command: ([name = '', ...args]) => client.call(name, ...args),
      close: () => Promise.resolve(client.disconnect()),
    };
  },
};
