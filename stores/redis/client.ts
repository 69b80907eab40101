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
  /** Sends a raw command (`['XADD', …]`). */
  sendCommand(args: string[]): Promise<unknown>;
  /** A new, not yet connected client with the same options. */
  duplicate(): NodeRedisLike;
  /** Connects a duplicate. */
  connect(): Promise<unknown>;
  /** Subscribes this (dedicated) client to a channel. */
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  /** Closes at once, rejecting pending commands. */
  destroy(): void;
  /** Listens for connection errors (node-redis throws without a listener). */
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/** The part of an ioredis (v5 or v6) client the adapter uses. */
export interface IORedisLike {
  /** Sends a raw command (`call('XADD', …)`). */
  call(command: string, ...args: string[]): Promise<unknown>;
  /** A new client with the same options (it connects by itself). */
  duplicate(): IORedisLike;
  /** Subscribes this (dedicated) client to a channel. */
  subscribe(channel: string): Promise<unknown>;
  /** Closes at once. */
  disconnect(): void;
  /** Pub/sub messages of this client. */
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  /** Connection errors of this client. */
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

/** A `close()` for a client method that closes at once and returns nothing. */
const closer = (close: () => void) => (): Promise<void> => {
  close();
  return Promise.resolve();
};

/**
 * Adapts a node-redis client (`redis` v5 or v6, `createClient()`), connected by the app.
 *
 * Give the client an `error` listener, as node-redis requires: without one an outage crashes
 * the process before ssekit sees it. `onError` gets the errors of the connections the store
 * opens from it (the tail loop's and the control channel's); the same outages reach the app's
 * own listener, and every command they fail rejects with a typed store error, so it is for
 * logging only.
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
  onError: (error: unknown) => void = () => {},
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
 * Adapts an ioredis client (v5 or v6, `new Redis(url)`). `onError` gets the errors of the
 * connections the store opens from it, for logging (see {@link fromNodeRedis}).
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
  onError: (error: unknown) => void = () => {},
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
