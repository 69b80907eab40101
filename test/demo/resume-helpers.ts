/**
 * Helpers for the resumable-chat demo tests: a TCP proxy in front of a demo app whose open
 * connections a test can cut (an injected network drop), and SSE reading with a cut after a
 * number of events.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback TCP proxy to `target` (`http://127.0.0.1:<port>`). */
export interface DropProxy {
  /** `http://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /** Destroys every open connection, both sides, as a dropped network would. */
  cut(): void;
  /** How many connections it has accepted. */
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts a {@link DropProxy} to `target`. */
export async function startDropProxy(target: string): Promise<DropProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((client) => {
    connections++;
    const upstream = connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  const cut = (): void => {
    for (const socket of open) socket.destroy();
    open.clear();
  };
  return {
    url: `http://127.0.0.1:${bound}`,
    cut,
    get connections() {
      return connections;
    },
    close() {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
