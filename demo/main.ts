/**
 * `npm start`: the emulator and the Express, Koa and Hono demo apps on 127.0.0.1 (see `start.ts`
 * for the environment variables), then where to open them, the ports used (and which configured
 * port was taken), and a `newman run` line for the Postman collection. On SIGTERM it drains
 * (`DRAIN_WINDOW_MS`, default 5000; `DRAIN_DEADLINE_MS`, default 10000): new streams get 503, open
 * ones get a `retry:` hint and `event: ssekit.drain` over the window, and the process exits once all
 * is closed.
 * @module
 */
import { drain } from 'ssekit';
import { startAll } from './start.js';

function msFrom(value: string | undefined, fallback: number): number {
  const ms = value === undefined || value === '' ? fallback : Number(value);
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : fallback;
}

const demo = await startAll();
const window = msFrom(process.env.DRAIN_WINDOW_MS, 5_000);
const deadline = Math.max(window, msFrom(process.env.DRAIN_DEADLINE_MS, 10_000));
console.log(`\n${demo.banner}`);
console.log(
  `\nOn SIGTERM: drain over ${window} ms, deadline ${deadline} ms (DRAIN_WINDOW_MS, DRAIN_DEADLINE_MS).`,
);
console.log('\nPress Ctrl+C to stop.\n');
// Also on stderr, so a taken port is not missed when the banner is piped away.
for (const notice of demo.notices) console.warn(`ssekit demo: ${notice}`);

process.once('SIGINT', () => void demo.close().then(() => process.exit(0)));
process.once('SIGTERM', () => {
  console.log('SIGTERM: draining');
  void drain({ window, deadline })
    .then(
      (result) =>
        console.log(
          `drained in ${result.duration} ms: ${result.ended} ended, ${result.finished} finished, ${result.cut} cut`,
        ),
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    )
    // Nothing is open any more: the servers close and the process ends by itself.
    .then(() => demo.close());
});
