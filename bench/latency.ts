/**
 * Time to headers and to first event: the table (the measurement runs inside the throughput
 * run's repetitions, on the same servers, see `throughput.ts`).
 * @module
 */
import type { Samples } from './harness.js';
import { cell, check, fixed, median, ratio, sections, table } from './harness.js';
import { baselineName, settings, streamers } from './setup.js';

/** The suffix of the latency rows for ssekit endpoints with `open: true`. */
export const OPEN = ', open: true';
/** The suffix of the latency rows for ssekit endpoints whose handler returns a source. */
export const SOURCE = ', returns a source';

/** The time-to-headers and time-to-first-event table and its targets. */
export function latencyTable(samples: Samples): void {
  const base = baselineName();
  const baseHeaders = samples.median(`latency/${base}/headers`);
  const baseEvent = samples.median(`latency/${base}/event`);
  const names = streamers.flatMap((contender) =>
    contender.name.startsWith('ssekit')
      ? [contender.name, contender.name + OPEN, contender.name + SOURCE]
      : [contender.name],
  );
  const rows = names.map((name) => {
    const failure = samples.failure(`latency/${name}`);
    const headers = samples.get(`latency/${name}/headers`);
    const event = samples.get(`latency/${name}/event`);
    return [
      name + (failure ? ` (failed: ${failure})` : ''),
      ...cell(headers, fixed(2)),
      ratio(median(headers), baseHeaders),
      ...cell(event, fixed(2)),
      ratio(median(event), baseEvent),
    ];
  });
  sections.push(
    `## Time to headers and to first event\n\nThe producer waits ${String(settings.delayMs)} ms ` +
      `before its first token; times in ms from the request being written, the median of ` +
      `${String(settings.latencyRequests)} sequential requests per repetition. ` +
      'The baseline flushes its headers before waiting. ssekit commits the response when the ' +
      'handler returns a source (an SDK stream, an async generator), so a source that awaits its ' +
      'first token has its headers out at once (`, returns a source`); a push handler that awaits ' +
      'before its first `send()` has them go with that first frame (so a producer that fails ' +
      'before it can still get a 500), or at once with `open: true`.\n\n' +
      table(
        [
          'contender',
          'to headers',
          'min–max',
          '× baseline',
          'to first event',
          'min–max',
          '× baseline',
        ],
        rows,
      ),
  );
  for (const contender of streamers) {
    if (!contender.name.startsWith('ssekit')) continue;
    for (const [suffix, label] of [
      [SOURCE, 'handler returns a source'],
      [OPEN, 'push handler with `open: true`'],
      ['', 'push handler, default: headers with the first frame'],
    ] as const) {
      check(
        `${contender.name} time to headers ≤ 1.3× baseline (${label})`,
        samples.median(`latency/${contender.name}${suffix}/headers`) / baseHeaders,
        1.3,
        false,
        fixed(2, '×'),
      );
    }
  }
}
