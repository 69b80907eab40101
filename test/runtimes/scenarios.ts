/**
 * The conformance scenarios that apply to a fetch runtime, run from Node with real clients
 * (`fetch`, the `eventsource` package) against the app of fixtures/app.ts served by the runtime.
 * The producers wait for the test (no clock decides an outcome): lockstep acknowledgements, a
 * release before the first token, and the server's record of what its producers saw.
 */
import { EventSource } from 'eventsource';
import { expect, it } from 'vitest';
import { EventReader } from '../conformance/clients.js';

/** What fixtures/app.ts records per run. */
export interface RunState {
  produced: number;
  acked: number;
  released: boolean;
  aborted: boolean;
  returned: boolean;
}

/** What a producer hears when its client leaves, and whether it goes on producing. */
export interface AbortBehaviour {
  /** The producer's `signal` aborts (ssekit got the request's signal or a stream cancel). */
  aborted: boolean;
  /** A returned source is closed: its `return()` runs, so its `finally` blocks run. */
  returned: boolean;
}

/** What a runtime does where runtimes differ; each value is asserted, so a change shows. */
export interface Behaviour {
  /** When the client leaves. Production stops on every runtime tested. */
  abort: AbortBehaviour;
  /**
   * Whether the runtime holds the response headers back until the body's first chunk (Bun,
   * `next start`): then only `open` (an opening comment) sends them before the first token.
   */
  headersWaitForFirstChunk: boolean;
}

const STEPS = 20;
/** What browsers, axios and Postman send (no conditional header: EventSource and fetch send none). */
const ACCEPT_ENCODING = { 'accept-encoding': 'gzip, deflate, br' };
const FORBIDDEN = ['content-length', 'etag', 'last-modified', 'content-encoding'];

let runs = 0;
const newRun = (): string => `run${String(++runs)}-${String(process.pid)}`;

export async function stateOf(base: string, run: string): Promise<RunState> {
  const response = await fetch(`${base}/state/${run}`);
  return (await response.json()) as RunState;
}

async function post(url: string): Promise<void> {
  const response = await fetch(url, { method: 'POST' });
  expect(response.status).toBe(204);
}

/** Polls the server's record until `condition` holds, at most `ms`; returns the last state. */
async function pollState(
  base: string,
  run: string,
  condition: (state: RunState) => boolean,
  ms = 5000,
): Promise<RunState> {
  const started = Date.now();
  let state = await stateOf(base, run);
  while (!condition(state) && Date.now() - started < ms) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    state = await stateOf(base, run);
  }
  return state;
}

/** Rejects after `ms` with `what`, so a response that never comes fails with a reason. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${String(ms)} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface HeaderRules {
  /**
   * The whole body was ready before the headers were sent: a runtime may then send a
   * Content-Length (Bun and Next.js do), which is harmless for a finished body.
   */
  finished?: boolean;
  /**
   * Behind Hono's `etag()`: ssekit/hono gives a stream a weak validator unique to the response,
   * so that `etag()` passes it through at once instead of hashing a body that has not ended
   * (issue 8 item 4). No other ETag may appear.
   */
  behindEtag?: boolean;
}

/** The streaming headers, and none that would break a stream. */
function expectStreamHeaders(response: Response, rules: HeaderRules = {}): void {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
  expect(response.headers.get('x-accel-buffering')).toBe('no');
  for (const name of FORBIDDEN) {
    const value = response.headers.get(name);
    if (name === 'content-length' && rules.finished) continue;
    if (name === 'etag' && rules.behindEtag && value !== null) {
      expect(value, 'a weak ETag unique to this response').toMatch(/^W\/"ssekit-[\w-]+"$/);
      expect(seenEtags.has(value), `ETag ${value} was sent before`).toBe(false);
      seenEtags.add(value);
      continue;
    }
    expect(value, name).toBeNull();
  }
}

const seenEtags = new Set<string>();

function reader(response: Response): EventReader {
  if (!response.body) throw new Error('the response has no body');
  return new EventReader(response.body);
}

/** Reads the lockstep stream with fetch, checking the producer waited for each event's ack. */
async function fetchLockstep(base: string, path: string): Promise<EventReader> {
  const run = newRun();
  const response = await within(
    fetch(`${base}${path}/${run}`, { headers: ACCEPT_ENCODING }),
    5000,
    'no response headers',
  );
  expectStreamHeaders(response);
  const events = reader(response);
  for (let k = 0; k < STEPS; k++) {
    await within(events.waitFor(k + 1), 5000, `event ${String(k)} did not arrive`);
    // The producer made event k and is waiting for its ack: nothing was produced ahead.
    expect((await stateOf(base, run)).produced).toBe(k + 1);
    await post(`${base}/ack/${run}/${String(k)}`);
  }
  await events.ended;
  expect(events.events.slice(0, STEPS).map((event) => JSON.parse(event.data) as unknown)).toEqual(
    Array.from({ length: STEPS }, (_, k) => ({ k, text: ` token ${String(k)}` })),
  );
  return events;
}

/** Reads the lockstep stream with the `eventsource` package, acknowledging each event. */
async function eventSourceLockstep(base: string, path: string): Promise<void> {
  const run = newRun();
  const received: { id: string; data: unknown }[] = [];
  let acking = Promise.resolve();
  const source = new EventSource(`${base}${path}/${run}`, {
    fetch: (input, init) =>
      fetch(input, { ...init, headers: { ...init.headers, ...ACCEPT_ENCODING } }),
  });
  try {
    const done = new Promise<void>((resolve, reject) => {
      source.addEventListener('error', (event) => {
        // A closed stream would make EventSource reconnect; the lockstep closes it before then.
        reject(new Error(`EventSource error: ${event.message ?? 'unknown'}`));
      });
      source.addEventListener('token', (event: MessageEvent<string>) => {
        const k = received.length;
        received.push({ id: event.lastEventId, data: JSON.parse(event.data) as unknown });
        if (k === STEPS - 1) source.close();
        acking = acking.then(async () => {
          expect((await stateOf(base, run)).produced).toBe(k + 1);
          await post(`${base}/ack/${run}/${String(k)}`);
          if (k === STEPS - 1) resolve();
        });
        acking.catch(reject);
      });
    });
    await within(done, 10_000, `EventSource got ${String(received.length)} events, not all`);
  } finally {
    source.close();
  }
  expect(received).toEqual(
    Array.from({ length: STEPS }, (_, k) => ({
      id: String(k),
      data: { k, text: ` token ${String(k)}` },
    })),
  );
}

/** The headers arrive while the producer waits for its release, before its first token. */
async function headersFirst(base: string, path: string, opening = ''): Promise<void> {
  const run = newRun();
  const response = await within(
    fetch(`${base}${path}/${run}`, { headers: ACCEPT_ENCODING }),
    5000,
    'no response headers before the first token',
  );
  expect((await stateOf(base, run)).produced).toBe(0);
  expectStreamHeaders(response, { behindEtag: path.startsWith('/guarded') });
  await post(`${base}/release/${run}`);
  expect(await response.text()).toBe(`${opening}data: first\n\n`);
}

/** The headers do not arrive while the producer waits; they come with the first token. */
async function headersWithFirstToken(base: string, path: string): Promise<void> {
  const run = newRun();
  const response = fetch(`${base}${path}/${run}`, { headers: ACCEPT_ENCODING });
  const early = await Promise.race([
    response.then(() => 'headers'),
    new Promise((resolve) => setTimeout(resolve, 1000, 'nothing')),
  ]);
  expect(early).toBe('nothing');
  await post(`${base}/release/${run}`);
  const late = await response;
  expectStreamHeaders(late, { finished: true, behindEtag: path.startsWith('/guarded') });
  expect(await late.text()).toBe('data: first\n\n');
}

/**
 * Reads two events, leaves, and checks what the producer heard against `expected`, once the
 * expected record is there (or 3 s passed), and that it produces nothing more after that.
 */
async function leave(base: string, path: string, expected: AbortBehaviour): Promise<void> {
  const run = newRun();
  const controller = new AbortController();
  const response = await within(
    fetch(`${base}${path}/${run}`, { signal: controller.signal, headers: ACCEPT_ENCODING }),
    5000,
    'no response headers',
  );
  const events = reader(response);
  await within(events.waitFor(2), 5000, 'two events did not arrive');
  controller.abort();
  const heard = (state: RunState): boolean =>
    state.aborted === expected.aborted && state.returned === expected.returned;
  const after = await pollState(base, run, heard, 3000);
  // Settle: the last token in flight may still be counted. A runtime expected to tell the
  // producer nothing gets longer to prove it, as it would be a late notice.
  const told = expected.aborted || expected.returned;
  await new Promise((resolve) => setTimeout(resolve, told ? 100 : 1000));
  const settled = await stateOf(base, run);
  await new Promise((resolve) => setTimeout(resolve, told ? 300 : 500));
  const later = await stateOf(base, run);
  expect({ aborted: later.aborted, returned: later.returned }).toEqual(expected);
  expect(after.produced).toBeLessThanOrEqual(settled.produced);
  expect(later.produced, 'tokens produced after the client left').toBe(settled.produced);
}

/** How a test names an abort behaviour. */
function heardWhat({ aborted, returned }: AbortBehaviour): string {
  if (aborted && returned) return 'aborts the signal and closes the source';
  if (aborted) return 'aborts the signal; the source is frozen, never closed';
  if (returned) return 'closes the source without aborting the signal';
  return 'is never told: the request is frozen (no signal, no return()), producing nothing';
}

/**
 * Registers the scenarios for the app served at `base()` (call inside a `describe`, after the
 * server started in `beforeAll`).
 */
export function fetchRuntimeScenarios(base: () => string, behaviour: Behaviour): void {
  it('toSseResponse: delivers every event before the next is produced, then [DONE]', async () => {
    const events = await fetchLockstep(base(), '/core/lockstep');
    expect(events.raw.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  if (behaviour.headersWaitForFirstChunk) {
    it('toSseResponse: sends the headers only with the first token, unless `open` is set', async () => {
      await headersWithFirstToken(base(), '/core/headers');
      await headersFirst(base(), '/core/headers-open', ':\n\n');
    });
  } else {
    it('toSseResponse: puts the headers on the wire before the first token', async () => {
      await headersFirst(base(), '/core/headers');
      await headersFirst(base(), '/core/headers-open', ':\n\n');
    });
  }

  it('toSseResponse: ends with the done frame, or with a generic error event', async () => {
    const chat = await fetch(`${base()}/core/chat`);
    expectStreamHeaders(chat, { finished: true });
    expect(await chat.text()).toBe('data: Hello\n\ndata: ,\n\ndata:  world\n\ndata: [DONE]\n\n');
    const fails = await fetch(`${base()}/core/fails`);
    expect(await fails.text()).toBe(
      'data: partial\n\nevent: error\ndata: {"error":"Internal Server Error"}\n\n',
    );
  });

  abortScenarios(base, behaviour.abort);

  it('ssekit/hono: delivers every event before the next (EventSource, no middleware)', async () => {
    await eventSourceLockstep(base(), '/hono/lockstep');
  });

  // Failed before the fix of issue 8 item 4 (branch hono-koa): etag() hashed the whole body first.
  it('ssekit/hono with etag() and compress() app-wide: lockstep to EventSource', async () => {
    await eventSourceLockstep(base(), '/guarded/lockstep');
  });

  it('ssekit/hono with etag() and compress() app-wide: headers before the first token', async () => {
    if (behaviour.headersWaitForFirstChunk) await headersWithFirstToken(base(), '/guarded/headers');
    else await headersFirst(base(), '/guarded/headers');
    await headersFirst(base(), '/guarded/headers-open', ':\n\n');
  });

  it('ssekit/hono with etag() and compress(): the stream toggle answers JSON or a stream', async () => {
    const json = await fetch(`${base()}/guarded/toggle?stream=false`, { headers: ACCEPT_ENCODING });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await json.json()).toEqual({ response: 'Hello, world' });
    const stream = await fetch(`${base()}/guarded/toggle`, { headers: ACCEPT_ENCODING });
    expectStreamHeaders(stream, { finished: true, behindEtag: true });
    expect(await stream.text()).toBe('data: Hello\n\ndata: ,\n\ndata:  world\n\ndata: [DONE]\n\n');
  });
}

/** The scenarios of a client that leaves, on the core and on ssekit/hono behind middleware. */
export function abortScenarios(base: () => string, abort: AbortBehaviour): void {
  it(`toSseResponse: a client that leaves: the producer ${heardWhat(abort)}`, async () => {
    await leave(base(), '/core/abort', abort);
  });

  // A pushing handler (no source to close): what matters is its signal.
  const pushed = { aborted: abort.aborted, returned: false };
  const told = abort.aborted ? 'aborts the signal' : 'is never told, producing nothing';
  it(`ssekit/hono with etag() and compress(): a client that leaves: the handler ${told}`, async () => {
    await leave(base(), '/guarded/abort', pushed);
  });
}

/** The runtime's example of examples/runtimes/, as a user runs it. */
export function exampleScenarios(base: () => string): void {
  it('serves the example: /stream and /chat stream the answer, /chat?stream=false is JSON', async () => {
    const expected = 'data: You\n\ndata:  said:\n\ndata:  hi\n\ndata: [DONE]\n\n';
    for (const [path, opening] of [
      ['/stream?prompt=hi', ':\n\n'],
      ['/chat?prompt=hi', ''],
    ] as const) {
      const response = await fetch(`${base()}${path}`, { headers: ACCEPT_ENCODING });
      expect(response.headers.get('content-type'), path).toBe('text/event-stream');
      expect(await response.text(), path).toBe(opening + expected);
    }
    const json = await fetch(`${base()}/chat?prompt=hi&stream=false`);
    expect(await json.json()).toEqual({ response: 'You said: hi' });
  });
}
