// Runs ssekit/client (its TypeScript source) in Bun or Deno: POSTs to the URL given as the first
// argument, reads the stream to its end (resuming after cuts) and prints what it got as JSON.
// Spawned by test/client/runtimes.test.ts.
import { connect } from '../../src/client.ts';

const url = globalThis.Deno ? globalThis.Deno.args[0] : globalThis.Bun.argv[2];
const data = [];
const stream = connect(url, { json: { prompt: 'runtime' }, resume: { delay: 5 } });
for await (const event of stream) data.push(event.data);
globalThis.console.log(
  JSON.stringify({ data, outcome: stream.outcome, reconnects: stream.reconnects }),
);
