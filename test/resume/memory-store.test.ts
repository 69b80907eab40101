/**
 * The store conformance suite on the memory store, plus what only the memory store promises.
 */
import { describe, expect, it } from 'vitest';
import { isSseError } from 'ssekit';
import { memoryStore } from 'ssekit/resume';
import { describeStoreConformance } from './store-conformance.js';

describeStoreConformance('memory', (options) => {
  const store = memoryStore(options);
  return Promise.resolve({ store, cleanup: () => store.close() });
});

describe('memoryStore options', () => {
  it('names the offending option', () => {
    for (const [options, field] of [
      [{ leaseMs: 0 }, 'leaseMs'],
      [{ readerLimit: 1.5 }, 'readerLimit'],
      [{ retention: { maxEvents: -1 } }, 'retention.maxEvents'],
      [{ retention: { afterDoneMs: 2 ** 31 } }, 'retention.afterDoneMs'],
      [{ retention: { idleMs: 'soon' } }, 'retention.idleMs'],
    ] as const) {
      let error: unknown;
      try {
        memoryStore(options as never);
      } catch (caught) {
        error = caught;
      }
      expect(isSseError(error) && error.code === 'INVALID_OPTION' && error.field).toBe(field);
    }
  });

  it('refuses a malformed generation id', async () => {
    const store = memoryStore();
    await expect(store.create('s', { gen: 'a.b', ifRunning: 'join' })).rejects.toBeInstanceOf(
      RangeError,
    );
    await expect(
      store.create('s', { gen: 'x'.repeat(33), ifRunning: 'join' }),
    ).rejects.toBeInstanceOf(RangeError);
    await store.close();
  });
});
