/**
 * The formatter's cost per event, in process (`bench/format.ts`), as a section of the results.
 * @module
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { JSON_BYTES, runFormatBench } from './format.js';
import { cell, check, fixed, log, median, sections, table } from './harness.js';
import { before, settings } from './setup.js';

/** Runs the formatter benchmark and writes its table and targets. */
export async function formatScenario(): Promise<void> {
  log('formatter');
  const previous =
    before === undefined
      ? undefined
      : (
          (await import(pathToFileURL(join(before, 'src/format.ts')).href)) as {
            formatEvent: (data: unknown) => string;
          }
        ).formatEvent;
  const results = runFormatBench(settings.formatRepetitions, settings.formatIterations, previous);
  const rows: string[][] = [];
  for (const payload of ['token', 'json']) {
    for (const result of results.filter((r) => r.payload === payload)) {
      const [mid, range] = cell(result.samples, fixed(1));
      const [ratioMid, ratioRange] = cell(result.ratios, fixed(2, '×'));
      rows.push([
        payload === 'token' ? '5-byte token' : `${String(JSON_BYTES)}-byte JSON object`,
        result.name,
        mid,
        range,
        ratioMid,
        ratioRange,
      ]);
      if (result.name === 'formatEvent') {
        check(
          `formatEvent ≤ 1.5× template literal (${payload})`,
          median(result.ratios),
          1.5,
          false,
          fixed(2, '×'),
        );
      }
    }
  }
  sections.push(
    `## Formatter cost per event\n\n${String(settings.formatRepetitions)} interleaved rounds of ` +
      `${settings.formatIterations.token.toLocaleString('en')} (token) or ` +
      `${settings.formatIterations.json.toLocaleString('en')} (JSON) calls per case, in process; ` +
      'ns/event, and the ratio to the template literal taken within each round (the load of a ' +
      'shared machine drifts between rounds), median and min–max over the rounds.\n\n' +
      table(['payload', 'formatter', 'ns/event', 'min–max', '× template literal', 'min–max'], rows),
  );
}
