/* eslint-disable @typescript-eslint/require-await -- the source stands in for a store read */
/**
 * The engine's per-event cost for a source that receives events in batches (a resume store's
 * read), yielded one by one versus as one `sseBatch` per read: `node --import tsx bench/batch.ts`.
 * In process, over a transport that takes everything; 200,000 events with ids in reads of 256,
 * interleaved for 7 rounds; ns/event, median and min–max.
 */
import { resolveOptions, runStream, sseBatch, sseEvent, type SseTransport } from '../src/index.js';

const EVENTS = 200_000;
const READ = 256;
const ROUNDS = 7;
const config = resolveOptions({ heartbeat: false });
const transport: SseTransport = {
  commit() {},
  write: () => true,
  waitForDrain: () => Promise.resolve(),
  close() {},
};

async function run(batched: boolean): Promise<number> {
  const source = (async function* () {
    for (let i = 0; i < EVENTS; i += READ) {
      const events = [];
      for (let j = 0; j < READ; j++) events.push(sseEvent('tok', { id: `g.${String(i + j)}` }));
      if (batched) yield sseBatch(events);
      else yield* events;
    }
  })();
  const start = process.hrtime.bigint();
  await runStream(transport, source, config).done;
  return Number(process.hrtime.bigint() - start) / EVENTS;
}

const samples = { 'one by one': [] as number[], 'sseBatch per read': [] as number[] };
for (let round = 0; round < ROUNDS; round++) {
  samples['one by one'].push(await run(false));
  samples['sseBatch per read'].push(await run(true));
}
const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[values.length >> 1] ?? 0;
console.log('| source yields | ns/event | min–max |\n| --- | --- | --- |');
for (const [name, values] of Object.entries(samples)) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `| ${name} | ${median(values).toFixed(0)} | ${(sorted[0] ?? 0).toFixed(0)}–${(sorted.at(-1) ?? 0).toFixed(0)} |`,
  );
}
