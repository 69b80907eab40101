/**
 * `npm start`: the emulator and the Express, Koa and Hono demo apps on 127.0.0.1 (see `start.ts`
 * for the environment variables), then where to open them, the ports used (and which configured
 * port was taken), and a `newman run` line for the Postman collection.
 * @module
 */
import { startAll } from './start.js';

const demo = await startAll();
console.log(`\n${demo.banner}\n\nPress Ctrl+C to stop.\n`);
// Also on stderr, so a taken port is not missed when the banner is piped away.
for (const notice of demo.notices) console.warn(`ssekit demo: ${notice}`);

function shutdown(): void {
  void demo.close().then(() => process.exit(0));
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
