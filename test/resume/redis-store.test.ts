/**
 * The store conformance suite on the Redis store, once per client (node-redis v6/v5, ioredis
 * v6/v5), on a real redis-server started for this file; plus what only the Redis store promises.
 */
import { afterAll, beforeAll } from 'vitest';
import { redisStore } from 'ssekit/redis';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { clients, type TestClient } from './redis-clients.js';
import { describeStoreConformance } from './store-conformance.js';

describeWithRedis('Redis store', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.close();
  });

  let prefixes = 0;
  for (const [name, connect] of Object.entries(clients)) {
    describeStoreConformance(`redis (${name})`, async (options) => {
      const prefix = `t${String(prefixes++)}`;
      const opened: TestClient[] = [await connect(redis.url)];
      const first = opened[0] as TestClient;
      const store = redisStore({ ...options, client: first.connection, prefix });
      const others: { close: () => Promise<void> }[] = [];
      return {
        store,
        peer: async () => {
          const client = await connect(redis.url);
          opened.push(client);
          const other = redisStore({ ...options, client: client.connection, prefix });
          others.push(other);
          return other;
        },
        cleanup: async () => {
          await store.close();
          for (const other of others) await other.close();
          for (const client of opened) await client.close();
        },
      };
    });
  }
});
