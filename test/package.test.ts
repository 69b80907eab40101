import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
/** The installed CLIs, run directly: `npx` would only add its own start-up time. */
const bin = (name: string): string => join(root, 'node_modules/.bin', name);
const src = join(root, 'src');
/** The one module of `src/` allowed to use Node APIs. */
const NODE_ENTRY = join(src, 'node.ts');
const BUILTINS = new Set(builtinModules);
/** Node globals a runtime-neutral module must not use. */
const NODE_GLOBALS = new Set(['Buffer', 'process', 'require', '__dirname', '__filename', 'global']);

function isNodeBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || BUILTINS.has(specifier.split('/')[0] as string);
}

/** The module specifiers of every import, export-from, dynamic import() and require() in `code`. */
function importsOf(code: string): string[] {
  return ts.preProcessFile(code, true, true).importedFiles.map((file) => file.fileName);
}

/** Uses of Node globals as values (not as property names such as `options.process`). */
function nodeGlobalsIn(code: string, fileName = 'module.ts'): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text)) {
      const parent = node.parent;
      const isName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        ((ts.isPropertyAssignment(parent) ||
          ts.isPropertySignature(parent) ||
          ts.isPropertyDeclaration(parent) ||
          ts.isMethodDeclaration(parent)) &&
          parent.name === node);
      if (!isName) found.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(fileName, code, ts.ScriptTarget.Latest, true));
  return found;
}

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('runtime-neutral core', () => {
  it('finds node: imports, bare builtins, require() and Node globals (the check itself works)', () => {
    const code = [
      "import { readFile } from 'node:fs';",
      "import type { Server } from 'http';",
      "export { x } from 'stream/web';",
      "const m = await import('node:os');",
      "const c = require('crypto');",
      'const b = Buffer.from("x");',
      'const o = { process: 1 }; o.process;',
    ].join('\n');
    expect(importsOf(code).filter(isNodeBuiltin)).toEqual([
      'node:fs',
      'http',
      'stream/web',
      'node:os',
      'crypto',
    ]);
    expect(nodeGlobalsIn(code)).toEqual(['require', 'Buffer']);
    expect(importsOf('/** import { a } from "node:fs"; */ export {};')).toEqual([]);
  });

  it('has no Node builtin import and no Node global in any module of src/ but src/node.ts', async () => {
    const problems: string[] = [];
    for (const file of await sourceFiles(src)) {
      if (file === NODE_ENTRY) continue;
      const code = await readFile(file, 'utf8');
      const name = relative(root, file);
      for (const specifier of importsOf(code).filter(isNodeBuiltin))
        problems.push(`${name} imports ${specifier}`);
      for (const global of nodeGlobalsIn(code, file)) problems.push(`${name} uses ${global}`);
    }
    expect(problems).toEqual([]);
  });

  it('never reaches src/node.ts from the ssekit entry', async () => {
    const seen = new Set<string>();
    const queue = [join(src, 'index.ts')];
    while (queue.length > 0) {
      const file = queue.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of importsOf(await readFile(file, 'utf8'))) {
        if (!specifier.startsWith('.')) continue;
        queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      }
    }
    expect(seen.has(join(src, 'stream.ts'))).toBe(true);
    expect(seen.has(NODE_ENTRY)).toBe(false);
  });
});

describe('the built package', () => {
  beforeAll(async () => {
    // `npm run build`, without npm's start-up time.
    await run(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root });
  }, 60_000);

  it('can be required from CommonJS, core and ssekit/node alike', async () => {
    const { stdout } = await run(
      process.execPath,
      [join(root, 'test/fixtures/require-ssekit.cjs')],
      {
        cwd: root,
      },
    );
    expect(JSON.parse(stdout)).toEqual({
      frame: 'event: token\nid: 1\ndata: {"token":"é"}\n\n',
      refused: 'INVALID_EVENT',
      node: ['sse', 'sendSse', 'streamToResponse'],
    });
  });

  it('passes publint', async () => {
    await expect(run(bin('publint'), [], { cwd: root })).resolves.toBeDefined();
  }, 60_000);

  it('passes attw with the esm-only profile', async () => {
    // The same as `attw --pack .`, without the second build `npm pack` would run through `prepack`.
    const dir = await mkdtemp(join(tmpdir(), 'ssekit-pack-'));
    try {
      const { stdout } = await run(
        'npm',
        ['pack', '--ignore-scripts', '--json', '--pack-destination', dir],
        { cwd: root },
      );
      const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
      await expect(
        run(bin('attw'), [join(dir, filename), '--profile', 'esm-only'], { cwd: root }),
      ).resolves.toBeDefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

interface Manifest {
  license: string;
  scripts: Record<string, string>;
  repository?: { type: string; url: string };
  homepage?: string;
  bugs?: { url: string };
}

describe('what npm shows and runs', () => {
  const REPO = 'https://github.com/ssekit/ssekit';
  const manifest = async (): Promise<Manifest> =>
    JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as Manifest;

  it("runs no script on a consumer's install, and builds before pack, test and start", async () => {
    const { scripts } = await manifest();
    // npm flags packages with these as running install scripts (and runs `prepare` for git installs).
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
      expect(scripts[hook], hook).toBeUndefined();
    }
    expect(scripts['prepack']).toBe('npm run build');
    expect(scripts['test']?.startsWith('npm run build &&')).toBe(true);
    expect(scripts['start']?.startsWith('npm run build &&')).toBe(true);
  });

  it('ships the MIT LICENSE its manifest names', async () => {
    const { license } = await manifest();
    expect(license).toBe('MIT');
    const text = await readFile(join(root, 'LICENSE'), 'utf8');
    expect(text.split('\n')[0]).toBe('MIT License');
    expect(text).toContain('Copyright (c) 2026 the ssekit authors');
    expect(text).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
    const { stdout } = await run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
      cwd: root,
    });
    const [{ files }] = JSON.parse(stdout) as [{ files: Array<{ path: string }> }];
    expect(files.map((file) => file.path)).toContain('LICENSE');
  }, 60_000);

  it('links its repository, home page and issue tracker', async () => {
    const { repository, homepage, bugs } = await manifest();
    expect(repository).toEqual({ type: 'git', url: `git+${REPO}.git` });
    expect(homepage).toBe(`${REPO}#readme`);
    expect(bugs).toEqual({ url: `${REPO}/issues` });
  });

  it("has only README links that work on npm's page, each to a file that exists", async () => {
    const readme = await readFile(join(root, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] as string);
    expect(targets.length).toBeGreaterThan(5);
    // npmjs.com does not resolve relative links against the repository: a `docs/x.md` link 404s.
    expect(targets.filter((target) => !/^(https:\/\/|#)/.test(target))).toEqual([]);
    const blob = `${REPO}/blob/main/`;
    const missing = targets
      .filter((target) => target.startsWith(blob))
      .map((target) => target.slice(blob.length).split('#')[0] as string)
      .filter((path) => !existsSync(join(root, path)));
    expect(missing).toEqual([]);
  });
});
