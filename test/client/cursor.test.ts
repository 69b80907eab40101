/**
 * The client's cursor: ssekit ids deduplicated by sequence number, opaque ids by a bounded
 * memory, empty ids reset the last event id.
 */
import { describe, expect, it } from 'vitest';
import { Cursor, parseResumableId, SEEN_LIMIT } from '../../src/client/cursor.js';

describe('Cursor', () => {
  it('parses <gen>.<seq> ids and nothing else', () => {
    expect(parseResumableId('a_B-9.12')).toEqual({ gen: 'a_B-9', seq: 12 });
    expect(parseResumableId('g.0')).toEqual({ gen: 'g', seq: 0 });
    for (const id of ['g', 'g.', '.1', 'g.01', 'g.1.2', 'g h.1', `${'x'.repeat(33)}.1`]) {
      expect(parseResumableId(id)).toBeUndefined();
    }
  });

  it('refuses an ssekit id at or before the position in the same generation', () => {
    const cursor = new Cursor('g.3');
    expect(cursor.accept('g.2')).toBe(false);
    expect(cursor.accept('g.3')).toBe(false);
    expect(cursor.accept('g.4')).toBe(true);
    expect(cursor.last).toBe('g.4');
    expect(cursor.accept('h.1')).toBe(true); // another generation starts its own count
  });

  it('counts NDJSON lines and measures the overlap of a replay', () => {
    const cursor = new Cursor(undefined);
    expect(cursor.counted).toBe(false);
    cursor.moveTo('g.0');
    cursor.count();
    cursor.count();
    expect(cursor.last).toBe('g.2');
    expect(cursor.overlap('g.0')).toBe(2);
    expect(cursor.overlap('g.5')).toBe(0);
    expect(cursor.overlap('h.0')).toBe(0);
  });

  it(`remembers the last ${SEEN_LIMIT} opaque ids, forgetting the oldest`, () => {
    const cursor = new Cursor(undefined);
    for (let i = 0; i <= SEEN_LIMIT; i++) expect(cursor.accept(`id-${i}`)).toBe(true);
    expect(cursor.accept(`id-${SEEN_LIMIT}`)).toBe(false);
    expect(cursor.accept('id-0')).toBe(true); // forgotten: the bound is what it says
  });

  it('takes an empty id as a reset of the last event id', () => {
    const cursor = new Cursor('g.1');
    expect(cursor.accept('')).toBe(true);
    expect(cursor.last).toBeUndefined();
  });
});
