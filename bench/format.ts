/**
 * Formatter cost per event, in process: ssekit's `formatEvent` (and the `sseFormat.event` the
 * engine calls) against a bare template literal, for a 5-byte token and a ~200-byte JSON object.
 * Cases run interleaved (A B C A B C …) after one warm-up pass each.
 */
import { performance } from 'node:perf_hooks';
import { formatEvent, sseFormat } from '../src/index.js';

/** One formatter under test: frames `inputs[i & 15]` and returns the frame. */
interface Case {
  payload: 'token' | 'json';
  name: string;
  baseline?: boolean;
  frame: (input: unknown) => string;
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

const cases: Case[] = [
  {
    payload: 'token',
    name: 'template literal',
    baseline: true,
    frame: (s) => `data: ${s as string}\n\n`,
  },
  { payload: 'token', name: 'formatEvent', frame: (s) => formatEvent(s) },
  {
    payload: 'token',
    name: 'sseFormat.event (engine path)',
    frame: (s) => sseFormat.event(s, undefined),
  },
  {
    payload: 'json',
    name: 'template literal + JSON.stringify',
    baseline: true,
    frame: (o) => `data: ${JSON.stringify(o)}\n\n`,
  },
  { payload: 'json', name: 'formatEvent', frame: (o) => formatEvent(o) },
  {
    payload: 'json',
    name: 'sseFormat.event (engine path)',
    frame: (o) => sseFormat.event(o, undefined),
  },
];

let sink = 0;

function time(item: Case, iterations: number): number {
  const inputs: readonly unknown[] = item.payload === 'token' ? tokens : objects;
  const frame = item.frame;
  let length = 0;
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) length += frame(inputs[i & 15]).length;
  const elapsed = performance.now() - t0;
  sink += length;
  return (elapsed * 1e6) / iterations;
}

/** ns/event samples per case; `iterations` per timed sample, by payload. */
export function runFormatBench(
  repetitions: number,
  iterations: { token: number; json: number },
): { payload: string; name: string; baseline: boolean; samples: number[] }[] {
  for (const item of cases) time(item, iterations[item.payload]);
  const samples = cases.map(() => [] as number[]);
  for (let rep = 0; rep < repetitions; rep++) {
    cases.forEach((item, i) => samples[i]?.push(time(item, iterations[item.payload])));
  }
  if (sink === 0) throw new Error('unreachable: keeps the frames alive');
  return cases.map((item, i) => ({
    payload: item.payload,
    name: item.name,
    baseline: item.baseline === true,
    samples: samples[i] ?? [],
  }));
}
