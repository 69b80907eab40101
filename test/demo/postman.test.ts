/**
 * The Postman collection (docs/postman/ssekit-demo.postman_collection.json) loads with the
 * `postman-collection` package, covers every demo endpoint and nothing else, and is run with the
 * real `newman` CLI against each demo app: every request's tests (status, Content-Type and body:
 * the done event, `[DONE]`, the JSON toggle's document) pass, and the body tests fail against a
 * server that answers with the right content types but without those bodies.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Collection, type Item } from 'postman-collection';
import { afterEach, describe, expect, it } from 'vitest';
import { endpoints } from '../../demo/endpoints.js';
import { frameworks, type Stack, startStack } from './helpers.js';

const file = new URL('../../docs/postman/ssekit-demo.postman_collection.json', import.meta.url);
const root = fileURLToPath(new URL('../..', import.meta.url));
const json = JSON.parse(readFileSync(file, 'utf8')) as { info: { schema: string } };
const collection = new Collection(json as object);

const items: Item[] = [];
collection.forEachItem((item) => void items.push(item));

/** An item's route as demo/endpoints.ts writes it: a `{{variable}}` segment is `:id`. */
const routePath = (item: Item): string => item.request.url.getPath().replace(/\{\{\w+\}\}/g, ':id');

const scriptOf = (item: Item): string =>
  item.events
    .all()
    .filter((event) => event.listen === 'test')
    .flatMap((event) => event.script.exec ?? [])
    .join('\n');

/** The status an item's Postman test script asserts (`200` unless it says otherwise). */
const expectedStatus = (item: Item): number =>
  Number(/pm\.response\.to\.have\.status\((\d+)\)/.exec(scriptOf(item))?.[1] ?? 200);

/** The content type an item's Postman test script asserts. */
function expectedType(item: Item): string {
  const script = scriptOf(item);
  const match = /Content-Type is ([\w/+.-]+)/.exec(script);
  if (!match?.[1]) throw new Error(`${item.name} has no Content-Type test`);
  return match[1];
}

/** The tests of every item's Postman test script, by name (`pm.test('name', …)`). */
function testNames(item: Item): string[] {
  const script = item.events
    .all()
    .filter((event) => event.listen === 'test')
    .flatMap((event) => event.script.exec ?? [])
    .join('\n');
  return [...script.matchAll(/pm\.test\('([^']+)'/g)].map((match) => match[1] as string);
}

interface NewmanSummary {
  run: {
    stats: { requests: { total: number }; assertions: { total: number; failed: number } };
    failures: Array<{ error: { test?: string; message: string }; source?: { name?: string } }>;
  };
}

/** Runs the collection with the installed newman CLI against `baseUrl`; its JSON report. */
async function newman(baseUrl: string): Promise<NewmanSummary> {
  const dir = await mkdtemp(join(tmpdir(), 'ssekit-newman-'));
  const report = join(dir, 'report.json');
  try {
    const args = ['run', fileURLToPath(file), '--env-var', `baseUrl=${baseUrl}`];
    args.push(
      '--reporters',
      'json',
      '--reporter-json-export',
      report,
      '--timeout-request',
      '10000',
    );
    // Exits 1 when an assertion fails: the report says which.
    await new Promise<void>((resolve) => {
      execFile(join(root, 'node_modules/.bin/newman'), args, { cwd: root }, () => resolve());
    });
    return JSON.parse(await readFile(report, 'utf8')) as NewmanSummary;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const failed = (summary: NewmanSummary): string[] =>
  summary.run.failures.map(
    (f) => `${f.source?.name ?? '?'}: ${f.error.test ?? ''} (${f.error.message})`,
  );

let stack: Stack | undefined;
let impostor: Server | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
  impostor?.closeAllConnections();
  impostor?.close();
  impostor = undefined;
});

describe('the Postman collection', () => {
  it('is a v2.1 collection with a baseUrl variable', () => {
    expect(json.info.schema).toBe(
      'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
    );
    expect(collection.variables.get('baseUrl')).toBe('http://127.0.0.1:3000');
    expect(items.length).toBeGreaterThanOrEqual(endpoints.length);
  });

  it('has a request for every demo endpoint, and only for demo endpoints', () => {
    const routes = (list: readonly { method: string; path: string }[]): string[] =>
      [...new Set(list.map((r) => `${r.method} ${r.path}`))].sort();
    const requested = items.map((item) => ({
      method: item.request.method,
      path: routePath(item),
    }));
    expect(routes(requested)).toEqual(routes(endpoints));
  });

  it('sends a JSON body with every POST, and a prompt with every request that starts one', () => {
    for (const item of items) {
      const { method, body, url } = item.request;
      // Resuming or stopping a chat takes no prompt.
      const prompted = !/\/(stream|stop)$/.test(routePath(item));
      if (method === 'POST' && !prompted) {
        expect(item.request.headers.get('Content-Type'), item.name).toBe('application/json');
      } else if (method === 'POST') {
        expect(item.request.headers.get('Content-Type'), item.name).toBe('application/json');
        expect(body?.mode, item.name).toBe('raw');
        const json = JSON.parse(body?.raw ?? '') as object;
        // The AI SDK's chat endpoint takes the conversation (`messages`) instead of a prompt.
        if (url.getPath() === '/api/ui-chat') expect(json, item.name).toHaveProperty('messages');
        else expect(json, item.name).toHaveProperty('prompt');
      } else if (prompted) {
        expect(url.query.get('prompt'), item.name).toBeTruthy();
      }
    }
  });

  it('expects each endpoint content type, or JSON when the request turns the stream off', () => {
    // A request whose test expects `204 No Content` (useChat's resume after the answer) has none.
    for (const item of items.filter((i) => expectedStatus(i) !== 204)) {
      const endpoint = endpoints.find(
        (e) => e.method === item.request.method && e.path === routePath(item),
      );
      const streamOff =
        item.request.url.query.get('stream') === 'false' ||
        (JSON.parse(item.request.body?.raw || '{}') as { stream?: unknown }).stream === false;
      expect(expectedType(item), item.name).toBe(
        streamOff ? 'application/json' : endpoint?.contentType,
      );
    }
  });

  it('tests every body, besides status and Content-Type', () => {
    // A request whose test expects `204 No Content` (useChat's resume after the answer) has none.
    for (const item of items.filter((i) => expectedStatus(i) !== 204)) {
      const names = testNames(item);
      expect(names.slice(0, 2), item.name).toEqual([
        '200 OK',
        `Content-Type is ${expectedType(item)}`,
      ]);
      expect(
        names.filter((name) => name.startsWith('Body: ')),
        item.name,
      ).toHaveLength(1);
    }
  });

  describe.each(frameworks)('run by newman against the %s demo app', (framework) => {
    it('passes every test of every request', async () => {
      stack = await startStack(framework);
      const summary = await newman(stack.demo.url);
      expect(failed(summary)).toEqual([]);
      expect(summary.run.stats.requests.total).toBe(items.length);
      expect(summary.run.stats.assertions.total).toBe(
        items.reduce((sum, item) => sum + testNames(item).length, 0),
      );
    }, 60_000);
  });

  it("fails the body tests of a server with the right content types but not the demo's bodies", async () => {
    // Answers each route with its content type and one token, without done, [DONE] or { response }.
    impostor = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const streamOff =
          url.searchParams.get('stream') === 'false' || body.includes('"stream": false');
        if (streamOff || url.pathname.endsWith('/stop')) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"answer":"x"}');
        } else if (url.pathname === '/api/raw') {
          res.writeHead(200, { 'content-type': 'text/plain' }).end('x');
        } else if (url.pathname === '/api/ndjson') {
          res
            .writeHead(200, { 'content-type': 'application/x-ndjson' })
            .end('{"token":"x"}\n{"token":"y"}\n');
        } else if (/^\/api\/ui-chat\/[^/]+\/stream$/.test(url.pathname)) {
          res.writeHead(204).end();
        } else {
          // The headers the demo sends (the AI SDK's protocol header too): only bodies differ.
          res
            .writeHead(200, {
              'content-type': 'text/event-stream',
              'x-vercel-ai-ui-message-stream': 'v1',
            })
            .end('data: x\n\ndata: y\n\n');
        }
      });
    });
    await new Promise<void>((resolve) => impostor!.listen(0, '127.0.0.1', resolve));
    const { port } = impostor.address() as AddressInfo;
    const summary = await newman(`http://127.0.0.1:${port}`);
    const failures = summary.run.failures.map(
      (f) => `${f.source?.name ?? '?'}: ${f.error.test ?? ''}`,
    );
    const bodyTests = items
      .filter((item) => !['/api/raw', '/api/ndjson'].includes(item.request.url.getPath()))
      .filter((item) => expectedStatus(item) !== 204)
      .map((item) => `${item.name}: ${testNames(item).find((name) => name.startsWith('Body: '))}`);
    expect(failures.sort()).toEqual(bodyTests.sort());
  }, 60_000);
});
