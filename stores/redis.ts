/**
 * `ssekit/redis`: the Redis store for resumable streams, so a reconnect continues the same answer
 * on any instance. A translation of the store interface onto Redis Streams (Redis ≥ 6.2), like an
 * adapter: the client is the app's, passed in through {@link fromNodeRedis} (node-redis v5/v6)
 * or {@link fromIORedis} (ioredis v5/v6); neither is imported by ssekit.
 *
 * Commands used: `EVALSHA`/`EVAL` (the scripts: `HMGET`, `HSET`, `HGETALL`, `HDEL`, `DEL`,
 * `SET PX`, `GET`, `EXISTS`, `PEXPIRE`, `XADD` with explicit ids and `MINID`, `XRANGE`,
 * `PUBLISH`, `TIME`), `XRANGE`, `XREAD BLOCK` (one connection per store instance), `CLIENT ID`,
 * `CLIENT UNBLOCK`, `SUBSCRIBE` (one channel per store instance). See `docs/resume-redis.md`.
 * @module ssekit/redis
 */
export {
  fromIORedis,
  fromNodeRedis,
  type IORedisLike,
  type NodeRedisLike,
  type RedisConnection,
  type RedisSubscription,
} from './redis/client.js';
export { redisStore, type RedisStoreOptions } from './redis/store.js';
