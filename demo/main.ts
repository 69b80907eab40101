/**
 * `npm start`: the emulator and the Express, Koa and Hono demo apps on 127.0.0.1 (see `start.ts`
 * for the environment variables), then where to open them.
 * @module
 */
import { startAll } from './start.js';

const demo = await startAll();
console.log(`\n${demo.banner}\n\nPress Ctrl+C to stop.\n`);

function shutdown(): void {
  void demo.close().then(() => process.exit(0));
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
