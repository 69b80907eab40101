// The README's Koa quick start. Run: OPENAI_API_KEY=… npx tsx examples/quickstart-koa.ts
import { fileURLToPath } from 'node:url';
// The README shows the rest of this file, from here to the app.
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import OpenAI from 'openai';
import { openAIText } from 'ssekit';
import { sse } from 'ssekit/koa';

const openai = new OpenAI(); // OPENAI_API_KEY, and OPENAI_BASE_URL for compatible servers
const model = process.env.OPENAI_MODEL ?? 'gpt-4o-mini';

const router = new Router();
router.post(
  '/chat',
  sse(
    (writer, ctx) => {
      const { prompt } = ctx.request.body as { prompt: string };
      const messages = [{ role: 'user' as const, content: prompt }];
      return openai.chat.completions.create(
        { model, messages, stream: true },
        { signal: writer.signal },
      );
    },
    { map: openAIText, done: { data: '[DONE]' } },
  ),
);
export const app = new Koa().use(bodyParser()).use(router.routes());

if (process.argv[1] === fileURLToPath(import.meta.url)) app.listen(3000);
