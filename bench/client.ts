/**
 * A client child process: `node --import tsx bench/client.ts`. Speaks raw HTTP/1.1 over
 * `node:net` and counts events by scanning the de-chunked body for `\n\n`, which costs far less
 * than `http.request` (one Buffer and one stream push per HTTP chunk), so the server stays the
 * bottleneck. Commands arrive over IPC from the orchestrator.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { monotonicMs, serveCalls } from './shared.js';

const LF = 10;
const LFLF = Buffer.from('\n\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const DATA = Buffer.from('data:');

const State = { Head: 0, Size: 1, Data: 2, Crlf: 3, Raw: 4, Done: 5 } as const;
type State = (typeof State)[keyof typeof State];

/** One response being read: a de-chunking parser that counts events. */
class Response {
  state: State = State.Head;
  head: Buffer | undefined;
  sizeLine = '';
  remaining = 0;
  skip = 0;
  lf = false;
  events = 0;
  bytes = 0;
  reads = 0;
  chunks = 0;
  status = 0;
  startedAt = 0;
  headersAt = 0;
  /** When the first `data:` line arrived (the first event with data, not a `retry:` or comment). */
  dataAt = 0;
  endedAt = 0;
  onEnd: (() => void) | undefined;
  onData: (() => void) | undefined;

  feed(buf: Buffer): void {
    this.bytes += buf.length;
    this.reads++;
    let i = 0;
    const len = buf.length;
    while (i < len) {
      switch (this.state) {
        case State.Head: {
          const all: Buffer = this.head === undefined ? buf : Buffer.concat([this.head, buf]);
          const base = this.head === undefined ? 0 : this.head.length;
          const end = all.indexOf(HEAD_END);
          if (end === -1) {
            this.head = Buffer.from(all);
            return;
          }
          this.head = undefined;
          const text = all.toString('latin1', 0, end);
          this.status = Number(text.slice(9, 12));
          this.headersAt = performance.now();
          this.state = /\r\ntransfer-encoding:\s*chunked/i.test(text) ? State.Size : State.Raw;
          i = end + 4 - base;
          break;
        }
        case State.Size: {
          const nl = buf.indexOf(LF, i);
          if (nl === -1) {
            this.sizeLine += buf.toString('latin1', i, len);
            return;
          }
          this.sizeLine += buf.toString('latin1', i, nl);
          i = nl + 1;
          const size = parseInt(this.sizeLine, 16);
          this.sizeLine = '';
          if (size === 0) {
            this.finish();
            return;
          }
          this.remaining = size;
          this.chunks++;
          this.state = State.Data;
          break;
        }
        case State.Data: {
          const end = Math.min(len, i + this.remaining);
          this.scan(buf, i, end);
          this.remaining -= end - i;
          i = end;
          if (this.remaining === 0) {
            this.state = State.Crlf;
            this.skip = 2;
          }
          break;
        }
        case State.Crlf: {
          const n = Math.min(this.skip, len - i);
          this.skip -= n;
          i += n;
          if (this.skip === 0) this.state = State.Size;
          break;
        }
        case State.Raw:
          this.scan(buf, i, len);
          return;
        case State.Done:
          return;
      }
    }
  }

  /** Counts `\n\n` in `buf[start, end)`, carrying a trailing LF over to the next piece. */
  scan(buf: Buffer, start: number, end: number): void {
    if (start >= end) return;
    if (this.dataAt === 0) {
      const at = buf.indexOf(DATA, start);
      if (at !== -1 && at < end) {
        this.dataAt = performance.now();
        this.onData?.();
      }
    }
    let pos = start;
    if (this.lf && buf[start] === LF) {
      this.events++;
      pos = start + 1;
    }
    for (;;) {
      const at = buf.indexOf(LFLF, pos);
      if (at === -1 || at + 2 > end) break;
      this.events++;
      pos = at + 2;
    }
    this.lf = pos < end && buf[end - 1] === LF;
  }

  finish(): void {
    if (this.state === State.Done) return;
    this.state = State.Done;
    this.endedAt = performance.now();
    this.onEnd?.();
  }
}

function request(port: number, path: string, response: Response, localAddress?: string): Socket {
  const socket = connect({
    host: '127.0.0.1',
    port,
    noDelay: true,
    ...(localAddress === undefined ? {} : { localAddress }),
  });
  socket.on('connect', () => {
    response.startedAt = performance.now();
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`,
    );
  });
  socket.on('data', (buf) => response.feed(buf));
  socket.on('close', () => response.finish());
  socket.on('error', () => response.finish());
  return socket;
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** `conns` parallel requests, each read to its end. */
async function burst(args: {
  port: number;
  path: string;
  conns: number;
  timeoutMs: number;
}): Promise<{
  elapsedMs: number;
  events: number;
  bytes: number;
  reads: number;
  chunks: number;
  clientCpuUs: number;
}> {
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  const responses: Response[] = [];
  const sockets: Socket[] = [];
  const ends: Promise<void>[] = [];
  for (let i = 0; i < args.conns; i++) {
    const response = new Response();
    ends.push(new Promise((resolve) => (response.onEnd = resolve)));
    responses.push(response);
    sockets.push(request(args.port, args.path, response));
  }
  try {
    await withTimeout(Promise.all(ends), args.timeoutMs, 'burst');
  } finally {
    for (const socket of sockets) socket.destroy();
  }
  const elapsedMs = performance.now() - t0;
  let events = 0;
  let bytes = 0;
  let reads = 0;
  let chunks = 0;
  for (const response of responses) {
    events += response.events;
    bytes += response.bytes;
    reads += response.reads;
    chunks += response.chunks;
  }
  return { elapsedMs, events, bytes, reads, chunks, clientCpuUs: cpuMicros() - cpu0 };
}

/** `count` sequential requests: time to headers and to the first data event, from the request. */
async function latency(args: {
  port: number;
  path: string;
  count: number;
  timeoutMs: number;
}): Promise<{ headersMs: number[]; firstEventMs: number[] }> {
  const headersMs: number[] = [];
  const firstEventMs: number[] = [];
  for (let i = 0; i < args.count; i++) {
    const response = new Response();
    const got = new Promise<void>((resolve) => {
      response.onData = resolve;
      response.onEnd = resolve;
    });
    const socket = request(args.port, args.path, response);
    try {
      await withTimeout(got, args.timeoutMs, 'latency request');
    } finally {
      socket.destroy();
    }
    if (response.headersAt === 0 || response.dataAt === 0) throw new Error('no event arrived');
    headersMs.push(response.headersAt - response.startedAt);
    firstEventMs.push(response.dataAt - response.startedAt);
  }
  return { headersMs, firstEventMs };
}

// ---------------------------------------------------------------- idle connections

const held: { port: number; socket: Socket; response: Response }[] = [];

/** Opens `conns` connections (at most `parallel` connecting at once) and waits for each one's first data event. */
async function open(args: {
  port: number;
  path: string;
  conns: number;
  parallel: number;
  timeoutMs: number;
  /** A loopback source address of its own per server, so 10,000s of connections find ports. */
  localAddress?: string;
}): Promise<{ opened: number }> {
  const deadline = performance.now() + args.timeoutMs;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < args.conns) {
      if (performance.now() > deadline) throw new Error('opening connections timed out');
      next++;
      const response = new Response();
      const got = new Promise<void>((resolve) => {
        response.onData = resolve;
        response.onEnd = resolve;
      });
      const socket = request(args.port, args.path, response, args.localAddress);
      held.push({ port: args.port, socket, response });
      await withTimeout(got, args.timeoutMs, 'first idle event');
      if (response.dataAt === 0)
        throw new Error(`connection closed early (status ${response.status})`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.parallel, args.conns) }, lane));
  return { opened: held.length };
}

/** Frames received on the held connections (to one port, or all) so far, and how many are open. */
function heldStats(args?: { port?: number }): { events: number; open: number } {
  let events = 0;
  let open = 0;
  for (const { port, socket, response } of held) {
    if (args?.port !== undefined && port !== args.port) continue;
    events += response.events;
    if (!socket.destroyed && response.state !== State.Done) open++;
  }
  return { events, open };
}

function closeAll(): boolean {
  for (const { socket } of held.splice(0)) socket.destroy();
  return true;
}

// ---------------------------------------------------------------- slow consumer

/** Opens one connection that reads `bytesPerTick` bytes every `tickMs`, whatever is on offer. */
function slow(args: { port: number; path: string; bytesPerTick: number; tickMs: number }): boolean {
  const socket = connect({ host: '127.0.0.1', port: args.port });
  const response = new Response();
  socket.on('connect', () => {
    socket.write(`GET ${args.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
  socket.on('error', () => response.finish());
  // Paused mode: Node's buffer fills to its high-water mark, then TCP pushes back on the server.
  const timer = setInterval(() => {
    const chunk = socket.read(args.bytesPerTick) as Buffer | null;
    if (chunk !== null) response.bytes += chunk.length;
  }, args.tickMs);
  socket.once('close', () => clearInterval(timer));
  held.push({ port: args.port, socket, response });
  return true;
}

// ---------------------------------------------------------------- soak

/** Event delays in 0.1 ms buckets up to 10 s (the last bucket holds everything later). */
const DELAY_BUCKETS = 100_001;

/** One soak stream: reads each event's `<seq> <sent ms>` data and checks the order. */
class SoakResponse extends Response {
  text = '';
  /** Which sequence numbers arrived (index = seq). */
  readonly seen: Uint8Array;
  distinct = 0;
  maxSeq = 0;
  duplicates = 0;
  outOfOrder = 0;
  heartbeats = 0;
  readonly n: number;
  readonly t0: number;
  readonly delays: Uint32Array;

  constructor(n: number, t0: number, delays: Uint32Array) {
    super();
    this.n = n;
    this.t0 = t0;
    this.delays = delays;
    this.seen = new Uint8Array(n + 1);
  }

  override scan(buf: Buffer, start: number, end: number): void {
    if (start >= end) return;
    this.text += buf.toString('latin1', start, end);
    let pos = 0;
    for (;;) {
      const nl = this.text.indexOf('\n', pos);
      if (nl === -1) break;
      if (this.text.startsWith('data: ', pos)) this.event(this.text.slice(pos + 6, nl));
      else if (this.text.charCodeAt(pos) === 58 /* ':' */) this.heartbeats++;
      pos = nl + 1;
    }
    this.text = this.text.slice(pos);
  }

  event(data: string): void {
    const now = monotonicMs() - this.t0;
    const space = data.indexOf(' ');
    const seq = Number(data.slice(0, space));
    const sentAt = Number(data.slice(space + 1));
    this.events++;
    if (this.dataAt === 0) {
      this.dataAt = performance.now();
      this.onData?.();
    }
    const bucket = Math.min(DELAY_BUCKETS - 1, Math.max(0, Math.round((now - sentAt) * 10)));
    this.delays[bucket] = (this.delays[bucket] as number) + 1;
    if (!Number.isInteger(seq) || seq < 1 || seq > this.n || this.seen[seq] === 1) {
      this.duplicates++;
      return;
    }
    this.seen[seq] = 1;
    this.distinct++;
    if (seq < this.maxSeq) this.outOfOrder++;
    else this.maxSeq = seq;
  }
}

const soakHeld: { socket: Socket; response: SoakResponse }[] = [];
let soakDelays = new Uint32Array(DELAY_BUCKETS);

/**
 * Opens `conns` soak streams (at most `parallel` connecting at once), each expecting `n` events,
 * and resolves when every one has its first event.
 */
async function soakOpen(args: {
  port: number;
  path: string;
  conns: number;
  n: number;
  t0: number;
  parallel: number;
  timeoutMs: number;
  localAddress?: string;
}): Promise<{ opened: number }> {
  const deadline = performance.now() + args.timeoutMs;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < args.conns) {
      if (performance.now() > deadline) throw new Error('opening soak streams timed out');
      next++;
      const response = new SoakResponse(args.n, args.t0, soakDelays);
      const got = new Promise<void>((resolve) => {
        response.onData = resolve;
        response.onEnd = resolve;
      });
      const socket = request(args.port, args.path, response, args.localAddress);
      soakHeld.push({ socket, response });
      await withTimeout(got, args.timeoutMs, 'first soak event');
      if (response.dataAt === 0)
        throw new Error(`soak stream closed early (status ${String(response.status)})`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(args.parallel, args.conns) }, lane));
  return { opened: soakHeld.length };
}

/** Resolves when every soak stream has ended (or after `timeoutMs`), then reports them all. */
async function soakWait(args: { timeoutMs: number }): Promise<{
  streams: number;
  ended: number;
  ok: number;
  received: number;
  distinct: number;
  duplicates: number;
  outOfOrder: number;
  missing: number;
  heartbeats: number;
  delays: [bucket: number, count: number][];
}> {
  const deadline = performance.now() + args.timeoutMs;
  while (performance.now() < deadline && soakHeld.some((s) => s.response.state !== State.Done)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const report = {
    streams: soakHeld.length,
    ended: 0,
    ok: 0,
    received: 0,
    distinct: 0,
    duplicates: 0,
    outOfOrder: 0,
    missing: 0,
    heartbeats: 0,
    delays: [] as [number, number][],
  };
  for (const { socket, response } of soakHeld.splice(0)) {
    socket.destroy();
    if (response.state === State.Done) report.ended++;
    if (response.status === 200) report.ok++;
    report.received += response.events;
    report.distinct += response.distinct;
    report.duplicates += response.duplicates;
    report.outOfOrder += response.outOfOrder;
    report.missing += response.n - response.distinct;
    report.heartbeats += response.heartbeats;
  }
  soakDelays.forEach((count, bucket) => {
    if (count > 0) report.delays.push([bucket, count]);
  });
  soakDelays = new Uint32Array(DELAY_BUCKETS);
  return report;
}

serveCalls({
  burst,
  latency,
  open,
  heldStats,
  closeAll,
  slow,
  soakOpen,
  soakWait,
  slowStats: () => held.map(({ response }) => response.bytes),
  exit: () => {
    closeAll();
    for (const { socket } of soakHeld.splice(0)) socket.destroy();
    setImmediate(() => process.exit(0));
    return true;
  },
});
