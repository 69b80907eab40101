/**
 * Two app instances (two Node processes, `fixtures/redis-instance.ts`, each with its own Redis
 * clients) on one real redis-server: a resume on the other instance continues byte for byte, a
 * stop reaches the producer's signal on the other instance, and a SIGKILLed producer ends every
 * follower on the other instance with `producer_lost` within about 2 × leaseMs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithRedis, type RedisServer, startRedis } from '../helpers/redis-server.js';

const LEASE_MS = 400;
const fixture = fileURLToPath(new URL('./fixtures/redis-instance.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Instance {
  readonly url: string;
  readonly child: ChildProcess;
  /** Lines the process printed after its first. */
  readonly lines: string[];
  /** Resolves with the first printed line matching `test`. */
  waitFor(test: (line: string) => boolean, ms?: number): Promise<string>;
}

async function startInstance(redisUrl: string, client: string): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redisUrl, LEASE_MS: String(LEASE_MS), CLIENT: client },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters = new Set<{ test: (line: string) => boolean; resolve: (line: string) => void }>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const first = new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`instance exited ${String(code)}: ${stderr}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (lines.length === 0 && !line.startsWith('{"port"')) return;
      lines.push(line);
      if (lines.length === 1) resolve(line);
      for (const waiter of waiters) {
        if (waiter.test(line)) {
          waiters.delete(waiter);
          waiter.resolve(line);
        }
      }
    });
  });
  const { port } = JSON.parse(await first) as { port: number };
  return {
    url: `http://127.0.0.1:${String(port)}`,
    child,
    lines,
    waitFor(test, ms = 5_000) {
      const seen = lines.find(test);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no such line')), ms);
        waiters.add({
          test,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
  };
}

async function stopInstance(instance: Instance): Promise<void> {
  const { child } = instance;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Reads an SSE response as raw text; with `until`, cuts the connection once it matches. */
async function readText(
  url: string,
  init: RequestInit & { until?: (text: string) => boolean } = {},
): Promise<{ status: number; headers: Headers; text: string; cut: boolean; at: number }> {
  const controller = new AbortController();
  const response = await fetch(url, { ...init, signal: controller.signal });
  let text = '';
  if (response.body === null) {
    return { status: response.status, headers: response.headers, text, cut: false, at: Date.now() };
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
    if (init.until?.(text) === true) {
      controller.abort();
      return {
        status: response.status,
        headers: response.headers,
        text,
        cut: true,
        at: Date.now(),
      };
    }
  }
  return { status: response.status, headers: response.headers, text, cut: false, at: Date.now() };
}

const post = (url: string, body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The ids of the frames in an SSE text, in order. */
const ids = (text: string): string[] => [...text.matchAll(/^id: (.+)$/gm)].map((m) => m[1] ?? '');

describeWithRedis('two instances on one Redis', () => {
  let redis: RedisServer;
  let a: Instance;
  let b: Instance;
  beforeAll(async () => {
    redis = await startRedis();
    [a, b] = await Promise.all([
      startInstance(redis.url, 'redis'),
      startInstance(redis.url, 'ioredis'),
    ]);
  }, 30_000);
  afterAll(async () => {
    await Promise.all([a, b].filter(Boolean).map(stopInstance));
    await redis.close();
  });

  it('a client cut on A resumes on B mid-stream; the frames after its cursor are byte-identical to A', async () => {
    const first = await readText(`${a.url}/chats/c1`, {
      ...post('', { count: 40, intervalMs: 15 }),
      until: (text) => ids(text).length >= 8 && text.endsWith('\n\n'),
    });
    expect(first.headers.get('ssekit-resume')).toBe('new');
    expect(first.cut).toBe(true);
    const cursor = ids(first.text).at(-1) ?? '';
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.\d+$/);
    const onB = await readText(`${b.url}/chats/c1/stream`, {
      headers: { 'last-event-id': cursor },
    });
    expect(onB.status).toBe(200);
    expect(onB.headers.get('ssekit-resume')).toBe('continued');
    expect(onB.headers.get('ssekit-cursor')).toBe(cursor);
    const [gen, seq] = cursor.split('.') as [string, string];
    // What A sends for the same cursor (now from its log): the same bytes.
    const onA = await readText(`${a.url}/chats/c1/stream`, {
      headers: { 'last-event-id': cursor },
    });
    expect(onB.text).toBe(onA.text);
    expect(ids(onB.text)).toEqual(
      Array.from({ length: 40 - Number(seq) }, (_, i) => `${gen}.${String(Number(seq) + i + 1)}`),
    );
    expect(onB.text.endsWith('event: done\ndata: \n\n')).toBe(true);
    // And the whole generation, original request included, is one sequence without a gap.
    const all = await readText(`${b.url}/chats/c1/stream`);
    expect(all.text.startsWith(first.text)).toBe(true);
  });

  it('a stop sent to B reaches the producer AbortSignal on A; followers end with the done frame', async () => {
    const started = readText(`${a.url}/chats/c2`, {
      ...post('', { count: 10_000, intervalMs: 10 }),
      until: (text) => ids(text).length >= 3,
    });
    await started;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const follower = await readText(`${b.url}/chats/c2/stream`, {
      until: (text) => ids(text).length >= 5,
    });
    expect(follower.status).toBe(200);
    const asked = Date.now();
    const stop = await fetch(`${b.url}/chats/c2/stop`, { method: 'POST' });
    expect(stop.status).toBe(202);
    const line = await a.waitFor((l) => l.includes('"aborted":"c2"'));
    const heardIn = Date.now() - asked;
    console.log(`stop from B reached A's producer signal in ${String(heardIn)} ms`);
    expect(line).toContain('"aborted":"c2"');
    const resumed = await readText(`${b.url}/chats/c2/stream`);
    expect(resumed.text.endsWith('event: done\ndata: \n\n')).toBe(true);
  });

  it('SIGKILL of the producer on A: B’s follower gets producer_lost within ~2 × leaseMs; a new resume gets log + terminal; the id starts again', async () => {
    await readText(`${a.url}/chats/c3`, {
      ...post('', { count: 10_000, intervalMs: 10 }),
      until: (text) => ids(text).length >= 3,
    });
    // A follower on B, attached while A produces.
    let killedAt = 0;
    const following = readText(`${b.url}/chats/c3/stream`, {
      until: (text) => {
        if (killedAt === 0 && ids(text).length >= 10) {
          killedAt = Date.now();
          a.child.kill('SIGKILL');
        }
        return false;
      },
    });
    const followed = await following;
    expect(killedAt).toBeGreaterThan(0);
    const endedIn = followed.at - killedAt;
    console.log(
      `follower on B ended ${String(endedIn)} ms after SIGKILL of A (leaseMs ${String(LEASE_MS)})`,
    );
    expect(followed.text).toMatch(/event: error\ndata: \{"code":"producer_lost"[^\n]*\}\n\n$/);
    expect(endedIn).toBeLessThan(2 * LEASE_MS + 1_000);
    // A new resume: the whole log, then the same terminal frame.
    const replay = await readText(`${b.url}/chats/c3/stream`);
    expect(replay.status).toBe(200);
    expect(replay.text).toMatch(/event: error\ndata: \{"code":"producer_lost"[^\n]*\}\n\n$/);
    const logged = ids(replay.text);
    expect(logged.length).toBeGreaterThanOrEqual(10);
    expect(logged.map((id) => Number(id.split('.')[1]))).toEqual(logged.map((_, i) => i + 1));
    // The id can be started again, at once, on B.
    const again = await readText(`${b.url}/chats/c3`, post('', { count: 3, intervalMs: 1 }));
    expect(again.headers.get('ssekit-resume')).toBe('new');
    expect(ids(again.text)).toHaveLength(3);
    expect(again.text.endsWith('event: done\ndata: \n\n')).toBe(true);
  });
});
