import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests and examples import 'ssekit/…' as users do; resolve them to the sources so a test run
    // needs no build. (The CommonJS test spawns Node on the built package instead.)
    alias: [
      { find: /^ssekit$/, replacement: here('./src/index.ts') },
      { find: /^ssekit\/node$/, replacement: here('./src/node.ts') },
      { find: /^ssekit\/otel$/, replacement: here('./src/otel.ts') },
      { find: /^ssekit\/client$/, replacement: here('./src/client.ts') },
      { find: /^ssekit\/resume$/, replacement: here('./src/resume/index.ts') },
      { find: /^ssekit\/redis$/, replacement: here('./stores/redis.ts') },
      { find: /^ssekit\/(express|koa|hono|fastify)$/, replacement: here('./adapters/$1.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
