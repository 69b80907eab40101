/**
 * Reply parsing for the raw commands the store sends. Clients differ: RESP2 gives arrays,
 * RESP3 maps, and node-redis 6 turns a map into an object while ioredis 6 flattens it into
 * `[key, value, key, value]`. Everything is normalised here, once.
 * @module
 */

/** One stream entry: its id and its field/value pairs. */
export interface Entry {
  readonly id: string;
  readonly fields: Readonly<Record<string, string>>;
}

const text = (value: unknown): string =>
  typeof value === 'string'
    ? value
    : value instanceof Uint8Array
      ? new TextDecoder().decode(value)
      : String(value);

function fields(raw: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(raw)) {
    for (let i = 0; i + 1 < raw.length; i += 2) out[text(raw[i])] = text(raw[i + 1]);
  } else if (raw instanceof Map) {
    for (const [key, value] of raw) out[text(key)] = text(value);
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [key, value] of Object.entries(raw)) out[key] = text(value);
  }
  return out;
}

/** Parses an `XRANGE` reply (also the `entries` a script returns). */
export function parseEntries(raw: unknown): Entry[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item) => {
    const [id, values] = item as [unknown, unknown];
    return { id: text(id), fields: fields(values) };
  });
}

/** Parses an `XREAD` reply into entries per key (`null` = timed out, nothing new). */
export function parseXRead(raw: unknown): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>();
  if (raw === null || raw === undefined) return out;
  if (raw instanceof Map) {
    for (const [key, entries] of raw) out.set(text(key), parseEntries(entries));
  } else if (Array.isArray(raw)) {
    if (raw.length > 0 && !Array.isArray(raw[0])) {
      // RESP3 map flattened by ioredis 6: [key, entries, key, entries]
      for (let i = 0; i + 1 < raw.length; i += 2) out.set(text(raw[i]), parseEntries(raw[i + 1]));
    } else {
      for (const item of raw) {
        const [key, entries] = item as [unknown, unknown];
        out.set(text(key), parseEntries(entries));
      }
    }
  } else if (typeof raw === 'object') {
    for (const [key, entries] of Object.entries(raw)) out.set(key, parseEntries(entries));
  }
  return out;
}

/** A script's array reply as strings (nested arrays kept as they are). */
export function parseTuple(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw.map((v) => (Array.isArray(v) ? v : text(v))) : [];
}

/** Compares two stream ids `<ms>-<seq>` numerically. */
export function compareIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const major = Number(am) - Number(bm);
  return major !== 0 ? major : Number(as) - Number(bs);
}
