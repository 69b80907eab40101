/**
 * The client's weight in a browser bundle: `ssekit/client` (with eventsource-parser, which it
 * bundles), whole and as an app that imports only `connect` (tree-shaken), beside `@microsoft/fetch-event-source` and `eventsource-client`, each bundled alone by
 * esbuild (ESM, minified, browser platform, every dependency inlined), then gzipped (level 9)
 * and brotli-compressed (quality 11). Run: `node --import tsx bench/client-size.ts`.
 */
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

const contenders = [
  { name: 'ssekit/client (all)', entry: `export * from './src/client.ts';` },
  { name: 'ssekit/client (connect only)', entry: `export { connect } from './src/client.ts';` },
  {
    name: '@microsoft/fetch-event-source',
    entry: `export * from '@microsoft/fetch-event-source';`,
  },
  { name: 'eventsource-client', entry: `export * from 'eventsource-client';` },
];

async function bundle(entry: string): Promise<Uint8Array> {
  const result = await build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
    // node_modules may be a symlink (a worktree sharing another's): resolve inside this package.
    preserveSymlinks: true,
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild wrote nothing');
  return file.contents;
}

const rows: string[] = [];
for (const { name, entry } of contenders) {
  const code = await bundle(entry);
  const gzip = gzipSync(code, { level: 9 }).length;
  const brotli = brotliCompressSync(code, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
  }).length;
  rows.push(
    `| ${name} | ${(code.length / 1024).toFixed(1)} KiB | ${(gzip / 1024).toFixed(2)} KiB | ${(brotli / 1024).toFixed(2)} KiB |`,
  );
}
console.log('| package | minified | min + gzip | min + brotli |');
console.log('|---|---:|---:|---:|');
for (const row of rows) console.log(row);
