/**
 * The resume property on the Redis store: for any event sequence, any set of disconnect points
 * and any choice of instance to reconnect to, reconnecting with the last id seen yields exactly
 * the produced events, in order, with no duplicate. Two servers, each with its own Redis client
 * (node-redis v6 on one, ioredis v6 on the other), its own Redis store and `createResumable`, on
 * one real redis-server: two instances of one app.
 */
import { afterAll, beforeAll, it } from 'vitest';
import { redisStore } from 'ssekit/redis';
import { createResumable, type ResumeStore } from 'ssekit/resume';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';
import { serveResumable, type TestServer } from './helpers.js';
import { checkResumeProperty, plannedProducer } from './resume-property.js';
import { clients, type TestClient } from './redis-clients.js';

let servers: TestServer[] = [];
let redis: RedisServer;
const opened: TestClient[] = [];
const stores: ResumeStore[] = [];

describeWithRedis('resume property on the Redis store', () => {
  beforeAll(async () => {
    redis = await startRedis();
    servers = await Promise.all(
      ['redis v6', 'ioredis v6'].map(async (name) => {
        const client = await (clients[name] as (url: string) => Promise<TestClient>)(redis.url);
        opened.push(client);
        const store = redisStore({ client: client.connection });
        stores.push(store);
        return serveResumable(createResumable({ store }), plannedProducer);
      }),
    );
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const store of stores) await store.close();
    for (const client of opened) await client.close();
    await redis.close();
  });

  it('reconnecting with the last id seen yields exactly the produced events, in order, once, across two clients', async () => {
    await checkResumeProperty(servers, 100);
  }, 120_000);
});
