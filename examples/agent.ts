// Recipe: an agent loop streamed as named events (`thought`, `action`, `observation`, `final`), in
// the shape of GitLab Duo's ReAct executor: ask the model, act, observe, until a final answer or
// MAX_ITERATIONS. `scriptedModel` stands in for the LLM call.
// Run: npx tsx examples/agent.ts
import { once } from 'node:events';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { agentEvents } from 'ssekit';
import { sse } from 'ssekit/express';

/** What the model decides at each step. */
export interface Decision {
  thought: string;
  action?: { tool: string; input: string };
  finalAnswer?: string;
}
export type Model = (
  question: string,
  scratchpad: string,
  signal: AbortSignal,
) => Promise<Decision>;

const tools: Record<string, (input: string) => Promise<string>> = {
  calculator: (input) =>
    Promise.resolve(String(input.split('*').reduce((product, n) => product * Number(n), 1))),
};

const MAX_ITERATIONS = 5;

export function agentApp(model: Model): express.Express {
  const app = express();
  app.get(
    '/agent',
    sse(
      async (writer, req) => {
        const emit = agentEvents(writer);
        const { question = '' } = req.query as { question?: string };
        let scratchpad = '';
        for (let step = 0; step < MAX_ITERATIONS && !writer.signal.aborted; step++) {
          const decision = await model(question, scratchpad, writer.signal);
          await emit.thought({ text: decision.thought });
          if (decision.finalAnswer !== undefined) {
            return emit.final({ output: decision.finalAnswer });
          }
          const { tool, input } = decision.action ?? { tool: 'none', input: '' };
          await emit.action({ tool, input });
          const output = (await tools[tool]?.(input)) ?? `There is no tool named ${tool}.`;
          await emit.observation({ tool, output });
          scratchpad += `Thought: ${decision.thought}\nAction: ${tool}[${input}]\nObservation: ${output}\n`;
        }
        await emit.final({ output: 'I could not find an answer.' });
      },
      { done: { event: 'done', data: '' } },
    ),
  );
  return app;
}

/** A deterministic stand-in for the LLM: multiplies with the calculator, then answers. */
export const scriptedModel: Model = (question, scratchpad) => {
  const [a = '0', b = '0'] = question.match(/\d+/g) ?? [];
  const observation = /Observation: (.*)\n$/.exec(scratchpad)?.[1];
  if (observation !== undefined) {
    return Promise.resolve({
      thought: 'I now know the answer.',
      finalAnswer: `${a} × ${b} = ${observation}`,
    });
  }
  return Promise.resolve({
    thought: `I should multiply ${a} by ${b} with the calculator.`,
    action: { tool: 'calculator', input: `${a}*${b}` },
  });
};

/** Starts the recipe on `port`. */
export async function start(port: number, model: Model = scriptedModel): Promise<Server> {
  const server = agentApp(model).listen(port, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000).then(() =>
    console.log('curl -N "localhost:3000/agent?question=What%20is%206%20times%207%3F"'),
  );
}
