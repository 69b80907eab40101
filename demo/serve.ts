/**
 * What the three demo apps share besides their endpoints: the page's files and listening on
 * loopback.
 * @module
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const read = (name: string): string =>
  readFileSync(new URL(`./public/${name}`, import.meta.url), 'utf8');

/** `ssekit/client` for the page: bundled once (esbuild, ESM), served as `/client.js`. */
function clientBundle(): string {
  const result = buildSync({
    entryPoints: [fileURLToPath(new URL('../src/client.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    logLevel: 'silent',
    // node_modules may be a symlink (a worktree sharing another's): resolve inside this package.
    preserveSymlinks: true,
  });
  return result.outputFiles[0]?.text ?? '';
}

/** The page's files, read (and the client bundled) once, with their content types. */
export const page = {
  html: { body: read('index.html'), type: 'text/html; charset=utf-8' },
  script: { body: read('app.js'), type: 'text/javascript; charset=utf-8' },
  icon: { body: read('favicon.svg'), type: 'image/svg+xml' },
  client: { body: clientBundle(), type: 'text/javascript; charset=utf-8' },
} as const;

/** A demo app listening on loopback. */
export interface DemoServer {
  /** The Node server. */
  readonly server: Server;
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  readonly url: string;
  /** The port it listens on. */
  readonly port: number;
  /** The port asked for, when it was taken and a free one was used instead; else `undefined`. */
  readonly taken: number | undefined;
  /** Stops listening and cuts open streams. */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 at `port` (`0` picks a free one). When `port` is taken, listens on a free
 * one instead and says so in `taken`, so the demo can tell the user rather than move silently. `onClose` runs
 * first when the server is closed (the app stops its generations).
 */
export async function listen(
  server: Server,
  port = 0,
  onClose: () => Promise<void> = () => Promise.resolve(),
): Promise<DemoServer> {
  const attempt = (p: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  let taken: number | undefined;
  try {
    await attempt(port);
  } catch (error) {
    if (port === 0 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    taken = port;
    await attempt(0);
  }
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    taken,
    async close() {
      await onClose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
