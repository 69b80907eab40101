/**
 * The Postman collection (docs/postman/ssekit-demo.postman_collection.json) loads with the
 * `postman-collection` package, covers every demo endpoint and nothing else, and each of its
 * requests, sent with node:http to each running demo app, gets a 200 with the content type the
 * request's own Postman test expects.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { Collection, type Item, Property, Variable, VariableList } from 'postman-collection';
import { afterEach, describe, expect, it } from 'vitest';
import { endpoints } from '../../demo/endpoints.js';
import { frameworks, type Stack, startStack } from './helpers.js';

const file = new URL('../../docs/postman/ssekit-demo.postman_collection.json', import.meta.url);
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

function send(
  url: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (part: string) => (text += part));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: res.headers['content-type'] ?? '',
          body: text,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
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

  describe.each(frameworks)('against the %s demo app', (framework) => {
    it('every request gets 200 and the content type its Postman test expects', async () => {
      stack = await startStack(framework);
      const variables = new VariableList(collection, [
        new Variable({ key: 'baseUrl', value: stack.demo.url }),
      ]);
      for (const item of items) {
        const url = Property.replaceSubstitutions(item.request.url.toString(), variables);
        const headers = item.request.headers.toObject() as Record<string, string>;
        const response = await send(url, item.request.method, headers, item.request.body?.raw);
        expect(response.status, item.name).toBe(expectedStatus(item));
        if (response.status === 204) continue;
        expect(response.type.startsWith(expectedType(item)), `${item.name}: ${response.type}`).toBe(
          true,
        );
        expect(response.body.length, item.name).toBeGreaterThan(0);
      }
    });
  });
});
