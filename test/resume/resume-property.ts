/**
 * The resume property, shared by the memory-store and Redis-store runs: for any event sequence,
 * any set of disconnect points and any choice of instance to reconnect to, reconnecting with the
 * last id seen yields exactly the produced events, in order, with no duplicate.
 */
import fc from 'fast-check';
import type { Producer, SseWriter } from 'ssekit';
import { expect } from 'vitest';
import { readEvents, type TestServer } from './helpers.js';

type Item = string | { n: number; s: string };

const planned = new Map<string, Item[]>();

/** The producer of a stream id: the items the property planned for it. */
export function plannedProducer(id: string): Producer {
  return (writer: SseWriter) => produce(writer, planned.get(id) ?? []);
}

async function produce(writer: SseWriter, items: Item[]): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    await writer.send(items[i]);
    // Yield to the event loop now and then, so disconnects land mid-stream as well as after it.
    if (i % 3 === 2) await new Promise((resolve) => setImmediate(resolve));
  }
}

// What an SSE client reads back for an item: JSON for objects, and line breaks as LF (the SSE
// format splits data on CR, LF and CRLF; the parser joins the lines with LF).
const onTheWire = (item: Item): string =>
  typeof item === 'string' ? item.replace(/\r\n|\r/g, '\n') : JSON.stringify(item);

const item: fc.Arbitrary<Item> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.constantFrom(' leading', 'a\nb', 'x\r\ny', '\n', 'data: fake', 'id: 9', ''),
  fc.record({ n: fc.integer(), s: fc.string({ maxLength: 5 }) }),
);

let next = 0;

/** Runs the property `numRuns` times against two instances serving `serveResumable`'s routes. */
export async function checkResumeProperty(
  servers: readonly TestServer[],
  numRuns: number,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(
      fc
        .array(item, { minLength: 1, maxLength: 40 })
        .chain((items) =>
          fc.tuple(
            fc.constant(items),
            fc.uniqueArray(fc.integer({ min: 1, max: items.length }), { maxLength: 6 }),
            fc.array(fc.integer({ min: 0, max: 1 }), { minLength: 8, maxLength: 8 }),
          ),
        ),
      async ([items, cutPoints, instances]) => {
        const id = `p${next++}`;
        planned.set(id, items);
        const cuts = [...cutPoints].sort((a, b) => a - b);
        const server = (i: number): string => (servers[instances[i] ?? 0] as TestServer).url;
        const seen: { id: string; data: string }[] = [];
        const take = (
          events: { id?: string | undefined; data: string; event?: string | undefined }[],
        ) => {
          for (const event of events) {
            if (event.id !== undefined && event.event === undefined)
              seen.push({ id: event.id, data: event.data });
          }
        };
        const first = await readEvents(`${server(0)}/s/${id}`, {
          method: 'POST',
          count: cuts[0] ?? Infinity,
        });
        expect(first.status).toBe(200);
        const gen = first.headers.get('ssekit-cursor')?.split('.')[0] as string;
        take(first.events);
        for (let i = 1; i <= cuts.length; i++) {
          const target = cuts[i] ?? Infinity;
          const last = seen.at(-1)?.id ?? `${gen}.0`;
          const got = await readEvents(`${server(i)}/s/${id}/stream`, {
            lastEventId: last,
            count: target - seen.length,
          });
          if (got.status === 204) {
            expect(seen.length).toBe(items.length); // nothing left: the client has it all
            break;
          }
          expect(got.status).toBe(200);
          expect(got.headers.get('ssekit-resume')).toBe('continued');
          take(got.events);
        }
        expect(seen.map((e) => e.data)).toEqual(items.map(onTheWire));
        expect(seen.map((e) => e.id)).toEqual(items.map((_, i) => `${gen}.${i + 1}`));
        planned.delete(id);
      },
    ),
    { numRuns },
  );
}
