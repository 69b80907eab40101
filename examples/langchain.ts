// Recipe: LangChain.js callbacks into an SSE stream. `FakeListChatModel` stands in for a real chat
// model (`new ChatOpenAI({ model: 'gpt-4o-mini' })` from `@langchain/openai` works the same way).
// Run: npx tsx examples/langchain.ts
import { once } from 'node:events';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Document } from '@langchain/core/documents';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import type { BaseRetriever } from '@langchain/core/retrievers';
import { RunnableLambda } from '@langchain/core/runnables';
import { DynamicStructuredTool } from '@langchain/core/tools';
import { FakeListChatModel, FakeRetriever } from '@langchain/core/utils/testing';
import express from 'express';
import { customFormat, type LangChainEvent, langChainHandler } from 'ssekit';
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

// lanarky's stream (seed 003): `data: {"token":…}` chunks, then `data: {"source_documents":[…]}`
// from the chain's result, each followed by a blank line.
function lanarky(event: LangChainEvent): unknown {
  if (event.type === 'token') return { token: event.data };
  if (event.type !== 'chainEnd') return undefined; // nothing for the other callbacks
  const documents = event.data.outputs['source_documents'] as Document[];
  return {
    source_documents: documents.map((d) => ({ page_content: d.pageContent, metadata: d.metadata })),
  };
}

export function langChainApp(model: BaseChatModel, retriever: BaseRetriever): express.Express {
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

  // Retrieval, then the model, as one chain whose result carries its sources.
  const qa = RunnableLambda.from(async (question: string, config) => {
    const documents = await retriever.invoke(question, config);
    const context = documents.map((d) => d.pageContent).join('\n');
    const answer = await model.invoke(`Answer from:\n${context}\n\n${question}`, config);
    return { answer: answer.content, source_documents: documents };
  });
  app.get(
    '/qa',
    sse(
      async (writer, req) => {
        const { question = '' } = req.query as { question?: string };
        const handler = langChainHandler(writer, { map: lanarky });
        await qa.invoke(question, { callbacks: [handler], signal: writer.signal });
      },
      {
        format: customFormat({
          prefix: 'data: ',
          suffix: '\n\n',
          contentType: 'text/event-stream',
        }),
      },
    ),
  );
  return app;
}

/** Starts the recipe on `port` with a fake chat model and a fake retriever. */
export async function start(port: number): Promise<Server> {
  const model = new FakeListChatModel({
    responses: ['Server-Sent Events stream text, one token at a time.'],
  });
  const retriever = new FakeRetriever({
    output: [
      new Document({
        pageContent: 'Server-Sent Events are one-way, over plain HTTP.',
        metadata: { source: 'https://html.spec.whatwg.org/multipage/server-sent-events.html' },
      }),
    ],
  });
  const server = langChainApp(model, retriever).listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000).then(() => {
    console.log('curl -N "localhost:3000/chat?prompt=What%20is%20SSE%3F"');
    console.log('curl -N "localhost:3000/divide?a=84&b=2"');
    console.log('curl -N "localhost:3000/qa?question=What%20is%20SSE%3F"');
  });
}
