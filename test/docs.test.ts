/**
 * Every code block in README.md and docs/*.md is either an excerpt of a file that the test suite
 * runs (named by an `<!-- file: path -->` comment right above the block) or a shell command whose
 * npm scripts exist.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDemo } from '../demo/apps/index.js';
import { startEmulator } from '../demo/emulator.js';
import { createLlm } from '../demo/llm.js';
import { sse } from '../src/node.js';

const root = join(import.meta.dirname, '..');
const pages = [
  'README.md',
  ...['docs', 'docs/runtimes'].flatMap((dir) =>
    readdirSync(join(root, dir))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `${dir}/${name}`),
  ),
];
const scripts = Object.keys(
  (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: object }).scripts,
);

interface Block {
  page: string;
  lang: string;
  code: string;
  source: string | undefined;
}

function blocks(page: string): Block[] {
  const text = readFileSync(join(root, page), 'utf8');
  const found: Block[] = [];
  const fence = /(?:<!--\s*file:\s*(\S+)\s*-->\s*\n)?```(\w*)\n([\s\S]*?)\n```/g;
  for (const match of text.matchAll(fence)) {
    found.push({ page, source: match[1], lang: match[2] ?? '', code: match[3] ?? '' });
  }
  return found;
}

const squash = (text: string): string => text.replace(/\s+/g, ' ').trim();
const all = pages.flatMap(blocks);

describe('documentation code blocks', () => {
  it('finds the pages and their blocks', () => {
    expect(all.length).toBeGreaterThan(0);
  });

  for (const block of all.filter((b) =>
    ['ts', 'js', 'typescript', 'javascript', 'html'].includes(b.lang),
  )) {
    it(`${block.page}: "${block.code.split('\n')[0]}" is an excerpt of a tested file`, () => {
      expect(block.source, 'add <!-- file: path --> above the block').toBeDefined();
      const path = join(root, block.source as string);
      expect(existsSync(path), `${block.source} exists`).toBe(true);
      expect(squash(readFileSync(path, 'utf8'))).toContain(squash(block.code));
    });
  }

  for (const block of all.filter((b) => ['sh', 'bash', 'shell'].includes(b.lang))) {
    it(`${block.page}: shell block "${block.code.split('\n')[0]}" names only existing npm scripts`, () => {
      for (const [, script] of block.code.matchAll(/npm run ([\w:-]+)/g)) {
        expect(scripts).toContain(script);
      }
    });
  }
});

describe('documentation response headers', () => {
  for (const block of all.filter((b) => b.lang === 'http')) {
    it(`${block.page}: the headers shown are the ones ssekit sends`, async () => {
      const server = createServer(sse(() => ['hi'])).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const { port } = server.address() as AddressInfo;
        const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
          get({ host: '127.0.0.1', port, path: '/' }, (res) => {
            res.resume();
            resolve({ status: res.statusCode, ...res.headers });
          }).on('error', reject);
        });
        const [statusLine = '', ...lines] = block.code.split('\n');
        expect(statusLine).toBe(`HTTP/1.1 ${String(headers.status)} OK`);
        for (const line of lines) {
          const [name = '', value] = line.split(': ');
          expect(headers[name], name).toBe(value);
        }
      } finally {
        server.close();
      }
    });
  }
});

/** The request a documented `curl` line makes: method, path, headers and body. */
function curlRequest(line: string): {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
} {
  const words = [...line.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? '');
  const headers: Record<string, string> = {};
  let body: string | undefined;
  let url = '';
  for (let i = 1; i < words.length; i++) {
    const word = words[i] ?? '';
    if (word === '-H') {
      const [name = '', ...value] = (words[++i] ?? '').split(':');
      headers[name.trim().toLowerCase()] = value.join(':').trim();
    } else if (word === '-d') body = words[++i];
    else if (word.startsWith('http')) url = word;
  }
  const { pathname, search } = new URL(url);
  return {
    method: body === undefined ? 'GET' : 'POST',
    path: pathname + search,
    headers,
    ...(body === undefined ? {} : { body }),
  };
}

describe('documented curl lines', () => {
  const lines = all
    .filter((b) => ['sh', 'bash', 'shell'].includes(b.lang))
    .flatMap((b) =>
      b.code
        .split('\n')
        .filter((line) => /^\s*curl /.test(line))
        .map((line) => ({ page: b.page, line: line.trim() })),
    );

  it('finds curl lines in the docs', () => {
    expect(lines.length).toBeGreaterThan(0);
  });

  it('each answers 200 from the demo app it names', async () => {
    const emulator = await startEmulator({ tokenDelay: 0 });
    const demo = await startDemo.express(createLlm(emulator.baseURL, {}));
    try {
      for (const { page, line } of lines) {
        const { method, path, headers, body } = curlRequest(line);
        const response = await fetch(demo.url + path, {
          method,
          headers: { 'accept-encoding': 'gzip, deflate, br', ...headers },
          ...(body === undefined ? {} : { body }),
        });
        expect(response.status, `${page}: ${line}`).toBe(200);
        expect((await response.text()).length, `${page}: ${line}`).toBeGreaterThan(0);
      }
    } finally {
      await demo.close();
      await emulator.close();
    }
  });
});
