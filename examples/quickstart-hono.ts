// The README's Hono quick start. Run: OPENAI_API_KEY=… npx tsx examples/quickstart-hono.ts
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
// The README shows the rest of this file, from here to the route.
import { Hono } from 'hono';
import OpenAI from 'openai';
import { openAIText } from 'ssekit';
import { sse } from 'ssekit/hono';

const openai = new OpenAI(); // OPENAI_API_KEY, and OPENAI_BASE_URL for compatible servers
const model = process.env.OPENAI_MODEL ?? 'gpt-4o-mini';

export const app = new Hono();
app.post(
  '/chat',
  sse(
    async (writer, c) => {
      const { prompt } = await c.req.json<{ prompt: string }>();
      const messages = [{ role: 'user' as const, content: prompt }];
      return openai.chat.completions.create(
        { model, messages, stream: true },
        { signal: writer.signal },
      );
    },
    { map: openAIText, done: { data: '[DONE]' } },
  ),
);

// Node; on Bun, Deno or Workers, `export default app` instead.
if (process.argv[1] === fileURLToPath(import.meta.url)) serve({ fetch: app.fetch, port: 3000 });
