/**
 * The few things the Redis store needs from a Redis client, typed structurally, and the two
 * adapters that map `redis` (node-redis v5/v6) and `ioredis` (v5/v6) onto it. Neither client is
 * imported: the app passes its own, already configured (TLS, auth, RESP2 or RESP3).
 * @module
 */

/** A subscription opened by {@link RedisConnection.subscribe}; `close` ends it and its connection. */
export interface RedisSubscription {
  /** Unsubscribes and closes the dedicated connection. */
  close(): Promise<void>;
}

/**
 * One Redis connection as the store sees it: raw commands, a way to open a second connection
 * (for the blocking tail read), and pub/sub on its own connection.
 *
 * Implement it to use another client (iovalkey, valkey-glide's `customCommand`, …).
 */
export interface RedisConnection {
  /** Sends one command, e.g. `['XADD', key, '7-0', 'b', '[…]']`; resolves with the raw reply. */
  send(args: readonly string[]): Promise<unknown>;
  /** Opens another connection to the same server with the same settings, ready for commands. */
  duplicate(): Promise<RedisConnection>;
  /** Subscribes to `channel` on a dedicated connection; `listener` gets each message as text. */
  subscribe(channel: string, listener: (message: string) => void): Promise<RedisSubscription>;
  /** Closes this connection at once (pending commands reject). Only called on duplicates. */
  close(): Promise<void>;
}

/** The part of a node-redis (`redis` v5 or v6) client the adapter uses. */
export interface NodeRedisLike {
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): NodeRedisLike;
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/** The part of an ioredis (v5 or v6) client the adapter uses. */
export interface IORedisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IORedisLike;
  subscribe(channel: string): Promise<unknown>;
  disconnect(): void;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/**
 * Errors of the connections the store opens itself (duplicates). The app's own client reports
 * the same outages to its own `error` listener, and every command that fails because of them
 * rejects with a typed store error, so these are passed to `onError` for logging only.
 */
type ConnectionErrorListener = (error: unknown) => void;

/** A `close()` for a client method that closes at once and returns nothing. */
const closer = (close: () => void) => (): Promise<void> => {
  close();
  return Promise.resolve();
};

/**
 * Adapts a node-redis client (`redis` v5 or v6, `createClient()`), connected by the app.
 *
 * Give the client an `error` listener, as node-redis requires: without one an outage crashes
 * the process before ssekit sees it.
 *
 * @example A Redis store on node-redis
 * ```ts
 * import { createClient } from 'redis';
 * import { fromNodeRedis, redisStore } from 'ssekit/redis';
 *
 * const client = createClient({ url: process.env.REDIS_URL });
 * client.on('error', (error) => console.error('redis', error));
 * await client.connect();
 * const store = redisStore({ client: fromNodeRedis(client) });
 * ```
 */
export function fromNodeRedis(
  client: NodeRedisLike,
  onError: ConnectionErrorListener = () => {},
): RedisConnection {
  const open = async (): Promise<NodeRedisLike> => {
    const copy = client.duplicate();
    copy.on('error', onError);
    await copy.connect();
    return copy;
  };
  return {
    send: (args) => client.sendCommand([...args]),
    async duplicate() {
      const copy = await open();
      return { ...fromNodeRedis(copy, onError), close: closer(() => copy.destroy()) };
    },
    async subscribe(channel, listener) {
      const copy = await open();
      try {
        await copy.subscribe(channel, listener);
      } catch (error) {
        copy.destroy();
        throw error;
      }
      return { close: closer(() => copy.destroy()) };
    },
    close: closer(() => client.destroy()),
  };
}

/**
 * Adapts an ioredis client (v5 or v6, `new Redis(url)`).
 *
 * @example A Redis store on ioredis
 * ```ts
 * import { Redis } from 'ioredis';
 * import { fromIORedis, redisStore } from 'ssekit/redis';
 *
 * const client = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
 * const store = redisStore({ client: fromIORedis(client) });
 * ```
 */
export function fromIORedis(
  client: IORedisLike,
  onError: ConnectionErrorListener = () => {},
): RedisConnection {
  const open = (): IORedisLike => {
    const copy = client.duplicate();
    copy.on('error', onError);
    return copy;
  };
  return {
    send: ([command = '', ...args]) => client.call(command, ...args),
    duplicate() {
      const copy = open();
      return Promise.resolve({
        ...fromIORedis(copy, onError),
        close: closer(() => copy.disconnect()),
      });
    },
    async subscribe(channel, listener) {
      const copy = open();
      copy.on('message', (from, message) => {
        if (from === channel) listener(message);
      });
      try {
        await copy.subscribe(channel);
      } catch (error) {
        copy.disconnect();
        throw error;
      }
      return { close: closer(() => copy.disconnect()) };
    },
    close: closer(() => client.disconnect()),
  };
}
