/**
 * Where the client is in a stream: the last event id, and what has been seen, so a replay after
 * a reconnect yields every event exactly once.
 * @module
 */

/** An ssekit resumable id: `<gen>.<seq>` (the resume wire contract). */
const RESUMABLE_ID = /^([A-Za-z0-9_-]{1,32})\.(0|[1-9]\d{0,15})$/;

/** How many opaque (not `<gen>.<seq>`) ids are remembered for deduplication. */
export const SEEN_LIMIT = 1024;

/** Splits an ssekit id into its generation and sequence number, or `undefined` for other ids. */
export function parseResumableId(id: string): { gen: string; seq: number } | undefined {
  const match = RESUMABLE_ID.exec(id);
  return match ? { gen: match[1] as string, seq: Number(match[2]) } : undefined;
}

/**
 * The cursor of one stream. ssekit ids (`<gen>.<seq>`) are deduplicated by comparing sequence
 * numbers within a generation, which needs no memory; other ids by remembering the last
 * {@link SEEN_LIMIT} of them (older ones are forgotten, oldest first).
 */
export class Cursor {
  /** The `Last-Event-ID` to send on a reconnect. */
  last: string | undefined = undefined;
  private gen: string | undefined = undefined;
  private seq = 0;
  private seen: Set<string> | undefined = undefined;

  constructor(initial: string | undefined) {
    if (initial !== undefined) this.moveTo(initial);
  }

  /** Whether the cursor has an ssekit position (needed to count NDJSON lines). */
  get counted(): boolean {
    return this.gen !== undefined;
  }

  /** Sets the position, e.g. from `SSEKit-Cursor` or the initial `lastEventId`. */
  moveTo(id: string): void {
    this.last = id;
    const parsed = parseResumableId(id);
    if (parsed) ({ gen: this.gen, seq: this.seq } = parsed);
  }

  /** How many events a response that starts after `id` repeats (0 when it does not overlap). */
  overlap(id: string): number {
    const parsed = parseResumableId(id);
    return parsed && parsed.gen === this.gen ? Math.max(0, this.seq - parsed.seq) : 0;
  }

  /**
   * Records an event's id; `false` when the event was already seen (a replayed duplicate).
   * Events without an id cannot be told apart and are always new.
   */
  accept(id: string | undefined): boolean {
    if (id === undefined) return true;
    const parsed = parseResumableId(id);
    if (parsed) {
      if (parsed.gen === this.gen && parsed.seq <= this.seq) return false;
      this.gen = parsed.gen;
      this.seq = parsed.seq;
    } else if (id !== '') {
      this.seen ??= new Set();
      if (this.seen.has(id)) return false;
      this.seen.add(id);
      if (this.seen.size > SEEN_LIMIT) this.seen.delete(this.seen.values().next().value as string);
    }
    // An empty id resets the last event id (HTML, "dispatch the event").
    this.last = id === '' ? undefined : id;
    return true;
  }

  /** Counts one event of a stream without ids (NDJSON): `<gen>.<seq + 1>`. */
  count(): void {
    if (this.gen === undefined) return;
    this.seq += 1;
    this.last = `${this.gen}.${this.seq}`;
  }

  /** Forgets everything: after a reset the server starts a generation anew. */
  reset(): void {
    this.last = undefined;
    this.gen = undefined;
    this.seq = 0;
    this.seen = undefined;
  }
}
