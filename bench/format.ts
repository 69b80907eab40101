/**
 * Formatter cost per event, in process: ssekit's `formatEvent` (and the `sseFormat.event` the
 * engine calls) against a bare template literal, for a 5-byte token and a ~200-byte JSON object.
 * Cases run interleaved (A B C A B C …) after one warm-up pass each.
 */
import { performance } from 'node:perf_hooks';
import { formatEvent, sseFormat } from '../src/index.js';

/**
 * One formatter under test. Each case has a timing loop of its own, so every call site stays
 * monomorphic and is optimised for that formatter alone (a shared loop calling `frame(x)` would
 * go polymorphic and measure call dispatch instead).
 */
interface Case {
  payload: 'token' | 'json';
  name: string;
  baseline?: boolean;
  /** Frames `n` inputs into {@link ring}. */
  run: (n: number) => number;
}

const tokens = Array.from({ length: 16 }, (_, i) =>
  // Built at run time, so they are ordinary heap strings like tokens off a socket.
  String.fromCharCode(97 + i, 98 + i, 99 + i, 100 + i, 101 + i),
);

const objects = Array.from({ length: 16 }, (_, i) => ({
  id: `chatcmpl-${String(9_000_000 + i)}`,
  object: 'chat.completion.chunk',
  created: 1_700_000_000 + i,
  model: 'gpt-4o-mini-2024-07-18',
  choices: [{ index: 0, delta: { content: tokens[i] }, logprobs: null, finish_reason: null }],
}));

export const JSON_BYTES = JSON.stringify(objects[0]).length;

let before = (data: unknown): string => formatEvent(data);

/**
 * Where every frame is stored, so it must really be built: with only its `.length` used, V8
 * computes a template literal's length without allocating the string at all.
 */
const ring: string[] = new Array<string>(1024).fill('');

const all: Case[] = [
  {
    payload: 'token',
    name: 'template literal',
    baseline: true,
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = `data: ${tokens[i & 15] as string}\n\n`;
      return ring.length;
    },
  },
  {
    payload: 'token',
    name: 'formatEvent',
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = formatEvent(tokens[i & 15]);
      return ring.length;
    },
  },
  {
    payload: 'token',
    name: 'formatEvent (before)',
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = before(tokens[i & 15]);
      return ring.length;
    },
  },
  {
    payload: 'token',
    name: 'sseFormat.event (engine path)',
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = sseFormat.event(tokens[i & 15], undefined);
      return ring.length;
    },
  },
  {
    payload: 'json',
    name: 'template literal + JSON.stringify',
    baseline: true,
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = `data: ${JSON.stringify(objects[i & 15])}\n\n`;
      return ring.length;
    },
  },
  {
    payload: 'json',
    name: 'formatEvent',
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = formatEvent(objects[i & 15]);
      return ring.length;
    },
  },
  {
    payload: 'json',
    name: 'formatEvent (before)',
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = before(objects[i & 15]);
      return ring.length;
    },
  },
  {
    payload: 'json',
    name: 'sseFormat.event (engine path)',
    run(n) {
      for (let i = 0; i < n; i++) ring[i & 1023] = sseFormat.event(objects[i & 15], undefined);
      return ring.length;
    },
  },
];

let sink = 0;

function time(item: Case, iterations: number): number {
  const t0 = performance.now();
  sink += item.run(iterations);
  return ((performance.now() - t0) * 1e6) / iterations;
}

/**
 * Runs `rounds` interleaved rounds (every case once per round, `iterations` calls by payload) and
 * returns each case's ns/event per round and its ratio to the payload's baseline in the same
 * round: on a shared machine the load drifts between rounds, much less within one. `previous` is
 * the `formatEvent` of an earlier version of the code, measured alongside for an A/B comparison.
 */
export function runFormatBench(
  rounds: number,
  iterations: { token: number; json: number },
  previous?: (data: unknown) => string,
): { payload: string; name: string; baseline: boolean; samples: number[]; ratios: number[] }[] {
  const cases = all.filter((item) => previous !== undefined || !item.name.endsWith('(before)'));
  if (previous !== undefined) before = previous;
  for (let warm = 0; warm < 3; warm++) {
    for (const item of cases) time(item, iterations[item.payload]);
  }
  const samples = cases.map(() => [] as number[]);
  const ratios = cases.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    const now = cases.map((item) => time(item, iterations[item.payload]));
    cases.forEach((item, i) => {
      const base = now[cases.findIndex((c) => c.baseline && c.payload === item.payload)] as number;
      samples[i]?.push(now[i] as number);
      ratios[i]?.push((now[i] as number) / base);
    });
  }
  if (sink === 0) throw new Error('unreachable: keeps the frames alive');
  return cases.map((item, i) => ({
    payload: item.payload,
    name: item.name,
    baseline: item.baseline === true,
    samples: samples[i] ?? [],
    ratios: ratios[i] ?? [],
  }));
}
