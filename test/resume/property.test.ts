/**
 * The resume property, on real servers: for any event sequence, any set of disconnect points and
 * any choice of instance to reconnect to, reconnecting with the last id seen yields exactly the
 * produced events, in order, with no duplicate. Two servers with their own `createResumable` share
 * one memory store: two instances of one app.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createResumable, memoryStore } from 'ssekit/resume';
import { serveResumable, type TestServer } from './helpers.js';
import { checkResumeProperty, plannedProducer } from './resume-property.js';

const store = memoryStore();
let servers: TestServer[] = [];

beforeAll(async () => {
  servers = await Promise.all(
    [0, 1].map(() => serveResumable(createResumable({ store }), plannedProducer)),
  );
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await store.close();
});

describe('resume property', () => {
  it('reconnecting with the last id seen yields exactly the produced events, in order, once', async () => {
    await checkResumeProperty(servers, 60);
  }, 120_000);
});
