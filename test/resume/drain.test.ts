/**
 * A drain (issue 12) and resumable generations (issue 9): a generation keeps appending to the log
 * after its client was ended, until it finishes or the drain's deadline, when it is aborted and
 * the log ends `drained`; a start while the process drains is refused with `503`. A process-wide
 * drain never ends, so this file (its own process under vitest's forks pool) drains once.
 */
import { drain } from 'ssekit';
import { createResumable, memoryStore, type ResumeStore } from 'ssekit/resume';
import { afterAll, expect, it } from 'vitest';
import { readEvents, serveResumable, tokens } from './helpers.js';

const store: ResumeStore = memoryStore();
const resumable = createResumable({ store, continueForMs: 250 });
const words = (n: number): string[] => Array.from({ length: n }, (_, i) => `w${i + 1} `);
const long = tokens(words(200), 20); // 4 s: outlives the deadline
const short = tokens(words(15), 20); // 0.3 s: finishes inside it
const server = await serveResumable(resumable, (id) =>
  id === 'long' ? long.producer : short.producer,
);

afterAll(async () => {
  await server.close();
  await resumable.close();
  await store.close();
});

async function logOf(id: string): Promise<{ data: unknown[]; end: unknown }> {
  const meta = await store.meta(id);
  const data: unknown[] = [];
  let end: unknown;
  for await (const batch of store.read(id, meta?.gen as string, 0)) {
    data.push(...batch.events.map((event) => event.data));
    end = batch.end;
  }
  return { data, end };
}

it('lets generations append until they finish or the deadline, refuses new starts, and ends the cut one `drained`', async () => {
  const [first, second] = await Promise.all([
    readEvents(`${server.url}/s/long`, { method: 'POST', count: 3 }),
    readEvents(`${server.url}/s/short`, { method: 'POST', count: 3 }),
  ]);
  expect([first.status, second.status]).toEqual([200, 200]);
  // Both clients have gone; continueForMs (250 ms) would abort both producers, but a drain keeps
  // them going.
  const started = Date.now();
  const drained = drain({ window: 50, deadline: 800, retry: 100, retryJitter: 0 });

  const refused = await fetch(`${server.url}/s/other`, { method: 'POST' });
  expect(refused.status).toBe(503);
  expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  await refused.arrayBuffer();

  await drained;
  expect(Date.now() - started).toBeLessThan(2_000);
  expect(short.finished()).toBe(true);
  expect(long.aborted()).toBe(true);
  expect(long.finished()).toBe(false);

  const done = await logOf('short');
  expect(done.data).toEqual(words(15));
  expect(done.end).toEqual({ state: 'done', reason: undefined });
  const cut = await logOf('long');
  // Appended past the three events the client read, then cut at the deadline.
  expect(cut.data.length).toBeGreaterThan(10);
  expect(cut.data.length).toBeLessThan(200);
  expect(cut.data).toEqual(words(cut.data.length));
  expect(cut.end).toEqual({ state: 'error', reason: 'drained' });
});
