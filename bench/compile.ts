/**
 * Compiles the project's TypeScript to plain ESM for the benchmark processes, file by file with
 * `transpileModule` (as `npm run build` emits it), so what is measured is the real code path and
 * not a loader's (tsx gives every function its own property table, which inflates memory).
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

/** A file to compile: the folder it is relative to, and its path from there. */
export type SourceFile = readonly [base: string, file: string];

/** Every `.ts` file (not `.d.ts`) under `base/dir`, as {@link SourceFile}s. */
export function tsFiles(base: string, dir: string): SourceFile[] {
  return readdirSync(join(base, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? tsFiles(base, join(dir, entry.name))
      : entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')
        ? [[base, join(dir, entry.name)] as const]
        : [],
  );
}

/** Compiles `files` into `outDir` (emptied first), keeping their relative paths, as ESM. */
export function compileFiles(files: readonly SourceFile[], outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  for (const [base, file] of files) {
    const { outputText } = ts.transpileModule(readFileSync(join(base, file), 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = join(outDir, file.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
}
