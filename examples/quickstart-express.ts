// The README's Express quick start. Run: OPENAI_API_KEY=… npx tsx examples/quickstart-express.ts
import { fileURLToPath } from 'node:url';
// The README shows the rest of this file, from here to the route.
import express from 'express';
import OpenAI from 'openai';
import { openAIText } from 'ssekit';
import { sse } from 'ssekit/express';

const openai = new OpenAI(); // OPENAI_API_KEY, and OPENAI_BASE_URL for compatible servers
const model = process.env.OPENAI_MODEL ?? 'gpt-4o-mini';

export const app = express();
app.post(
  '/chat',
  express.json(),
  sse(
    (writer, req) => {
      const { prompt } = req.body as { prompt: string };
      const messages = [{ role: 'user' as const, content: prompt }];
      return openai.chat.completions.create(
        { model, messages, stream: true },
        { signal: writer.signal },
      );
    },
    // openAIText: each chunk's text; role and finish chunks (no text) send nothing.
    { map: openAIText, done: { data: '[DONE]' } },
  ),
);

if (process.argv[1] === fileURLToPath(import.meta.url)) app.listen(3000);
