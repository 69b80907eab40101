// docs/getting-started.md: the push writer, the stream toggle and error handling, on Express.
import express from 'express';
import { sse } from 'ssekit/express';

/** Stands in for any callback-style LLM API (LangChain's handleLLMNewToken, an SDK's onToken…). */
export async function generate(
  prompt: string,
  callbacks: { onToken: (token: string) => unknown; signal: AbortSignal },
): Promise<void> {
  if (prompt === '') throw new Error('empty prompt'); // fails before the first token
  for (const token of ['You', ' asked', ':', ` ${prompt}`]) {
    if (callbacks.signal.aborted) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
    callbacks.onToken(token);
  }
}

export const app = express();
app.use(express.json());

app.post(
  '/chat',
  sse(
    async (writer, req) => {
      const { prompt } = req.body as { prompt: string };
      // writer.send is bound: hand it straight to a callback API. The stream ends when this
      // function's promise settles.
      await generate(prompt, { onToken: writer.send, signal: writer.signal });
    },
    {
      done: { event: 'done', data: '' }, // lets an EventSource client close instead of reconnecting
      json: true, // {"stream": false} in the body (or ?stream=false) answers {"response": "…"}
      onError: (error) => console.error('stream failed', error),
    },
  ),
);

// Errors thrown before the first frame reach Express's error handlers: a real status code.
app.use(
  (error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(400).json({ error: error.message });
  },
);
