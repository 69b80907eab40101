/**
 * What the benchmark's orchestrator, servers and clients agree on: the payloads, the routes and
 * the IPC messages. Every server serves the same four routes:
 *
 * - `/burst?n=N`: N events of a 5-byte token as fast as the connection takes them, then the end.
 * - `/idle`: one event, then nothing but heartbeats until the client leaves.
 * - `/slow?bytes=B`: 1 KiB events until B bytes were offered (the producer waits where it can).
 * - `/delay?ms=D`: waits D ms (an LLM thinking), then one event and the end.
 * - `/soak?n=N&every=E&t0=T`: N events, one every E ms, each `<seq> <ms since T>` (T on the
 *   {@link monotonicMs} clock), with heartbeats at the configured pace, then the end (the soak run;
 *   served by the baseline and the ssekit contenders).
 */

/** The 5-byte token of the throughput and latency runs. */
export const TOKEN = 'hello';

/** The baseline's pre-built frame. */
export const FRAME = `data: ${TOKEN}\n\n`;

/** The data of one slow-consumer event: 1 KiB. */
export const SLOW_DATA = 'x'.repeat(1024);

/** The baseline's pre-built slow-consumer frame. */
export const SLOW_FRAME = `data: ${SLOW_DATA}\n\n`;

/** The headers the hand-written servers send. */
export const HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
} as const;

/** How a server child is configured (passed as JSON in argv). */
export interface ServerConfig {
  /** Heartbeat interval of the `/idle` route, in milliseconds. */
  heartbeat: number;
}

/** Counters a server keeps for the orchestrator. */
export interface ServerStats {
  /** Bytes of event data the `/slow` producers have offered so far. */
  offered: number;
  /** Events the `/soak` producers have sent so far. */
  sent: number;
}

/**
 * Milliseconds on the machine's monotonic clock (`CLOCK_MONOTONIC` on Linux), the same in every
 * process, so a soak client can take a server's send time from its own receive time.
 */
export function monotonicMs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e3 + nanoseconds / 1e6;
}

/** The data of soak event `seq`: the sequence number and the send time in ms since `t0`. */
export function soakData(seq: number, t0: number): string {
  return `${String(seq)} ${(monotonicMs() - t0).toFixed(3)}`;
}

/** A numeric query parameter of a request URL (absolute or path-only). */
export function param(url: string, name: string, fallback: number): number {
  const value = new URL(url, 'http://bench').searchParams.get(name);
  return value === null ? fallback : Number(value);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/** A request from the orchestrator to a child. */
export interface Call {
  id: number;
  cmd: string;
  args?: unknown;
}

/** A child's answer to a {@link Call}. */
export interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}

/**
 * Serves IPC calls in a child process, and exits when the parent goes away (so no child outlives
 * a crashed or interrupted run).
 */
export function serveCalls(handlers: Record<string, (args: never) => unknown>): void {
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: Call) => {
    const handler = handlers[message.cmd];
    const reply = (value: Omit<Reply, 'id'>): void => {
      if (process.connected) process.send?.({ id: message.id, ...value });
    };
    if (handler === undefined) return reply({ ok: false, error: `unknown command ${message.cmd}` });
    Promise.resolve()
      .then(() => handler(message.args as never))
      .then(
        (value) => reply({ ok: true, value }),
        (error: unknown) => reply({ ok: false, error: String((error as Error)?.stack ?? error) }),
      );
  });
}
