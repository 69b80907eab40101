// Recipe: LangChain.js callbacks into an SSE stream. `FakeListChatModel` stands in for a real chat
// model (`new ChatOpenAI({ model: 'gpt-4o-mini' })` from `@langchain/openai` works the same way).
// Run: npx tsx examples/langchain.ts
import { once } from 'node:events';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { DynamicStructuredTool } from '@langchain/core/tools';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import express from 'express';
import { langChainHandler } from 'ssekit';
import { sse } from 'ssekit/express';

const divide = new DynamicStructuredTool({
  name: 'divide',
  description: 'Divides a by b',
  schema: {
    type: 'object',
    properties: { a: { type: 'number' }, b: { type: 'number' } },
    required: ['a', 'b'],
  } as const,
  func: ({ a, b }: { a: number; b: number }) => Promise.resolve(String(a / b)),
});

export function langChainApp(model: BaseChatModel): express.Express {
  const app = express();

  // The model's tokens as `message` events, then `event: done`. The handler is awaited by
  // LangChain (a slow client slows the model), and `invoke()` streams token by token.
  app.get(
    '/chat',
    sse(
      async (writer, req) => {
        const { prompt = '' } = req.query as { prompt?: string };
        await model.invoke(prompt, {
          callbacks: [langChainHandler(writer, { events: { llmEnd: false } })],
          signal: writer.signal, // the client goes away → the run stops
        });
      },
      { done: { event: 'done', data: '' } },
    ),
  );

  // A tool step, then the model: tool callbacks renamed to the agent vocabulary
  // (`event: action`, `event: observation`), tokens as `message` events.
  app.get(
    '/divide',
    sse(
      async (writer, req) => {
        const handler = langChainHandler(writer, {
          events: { toolStart: 'action', toolEnd: 'observation', llmEnd: false },
        });
        const config = { callbacks: [handler], signal: writer.signal };
        const [a, b] = [Number(req.query['a']), Number(req.query['b'])];
        const result = await divide.invoke({ a, b }, config);
        await model.invoke(`Explain that ${a} / ${b} = ${result}`, config);
      },
      { done: { event: 'done', data: '' } },
    ),
  );
  return app;
}

/** Starts the recipe on `port` with a fake chat model. */
export async function start(port: number): Promise<Server> {
  const model = new FakeListChatModel({
    responses: ['Server-Sent Events stream text, one token at a time.'],
  });
  const server = langChainApp(model).listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000).then(() => {
    console.log('curl -N "localhost:3000/chat?prompt=What%20is%20SSE%3F"');
    console.log('curl -N "localhost:3000/divide?a=84&b=2"');
  });
}
