import { type AgentEventMap, agentEvents, isSseError, type SseWriter } from 'ssekit';
import { sse } from 'ssekit/node';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { allEvents, serve } from './helpers.js';

interface Step {
  thought: string;
  action?: { tool: string; input: string };
  finalAnswer?: string;
}

/** A scripted model: the GitLab executor's `execute_streamed_request`. */
function planner(steps: Step[]) {
  let i = 0;
  return (_scratchpad: string): Promise<Step> =>
    Promise.resolve(steps[i++] ?? { thought: 'out of steps' });
}

const tools: Record<string, (input: string) => Promise<string>> = {
  calculator: (input) =>
    Promise.resolve(
      String(
        input
          .split('*')
          .map(Number)
          .reduce((a, b) => a * b),
      ),
    ),
};

describe('agentEvents', () => {
  it('streams thought, action, observation and final as named JSON events in loop order', async () => {
    const think = planner([
      { thought: 'I need to multiply.', action: { tool: 'calculator', input: '6*7' } },
      { thought: 'I know the answer.', finalAnswer: 'It is 42.' },
    ]);
    const url = await serve(
      sse(async (writer) => {
        const emit = agentEvents(writer);
        let scratchpad = '';
        for (let step = 0; step < 5; step++) {
          const answer = await think(scratchpad);
          await emit.thought({ text: answer.thought });
          if (answer.finalAnswer !== undefined) return emit.final({ output: answer.finalAnswer });
          const { tool, input } = answer.action ?? { tool: '', input: '' };
          await emit.action({ tool, input });
          const output = (await tools[tool]?.(input)) ?? 'unknown tool';
          await emit.observation({ tool, output });
          scratchpad += `Thought: ${answer.thought}\nObservation: ${output}\n`;
        }
      }),
    );
    const received = await allEvents(await fetch(url));
    expect(received.map((event) => [event.event, JSON.parse(event.data) as unknown])).toEqual([
      ['thought', { text: 'I need to multiply.' }],
      ['action', { tool: 'calculator', input: '6*7' }],
      ['observation', { tool: 'calculator', output: '42' }],
      ['thought', { text: 'I know the answer.' }],
      ['final', { output: 'It is 42.' }],
    ]);
  });

  it("uses the endpoint's own names and passes an id for Last-Event-ID", async () => {
    const url = await serve(
      sse(async (writer) => {
        const emit = agentEvents(writer, { action: 'tool_call', observation: 'tool_result' });
        await emit.action({ tool: 'search', input: { query: 'sse' }, id: 'call_1' }, { id: 7 });
        await emit.observation({ tool: 'search', output: ['spec'], id: 'call_1' });
        await emit.final({ output: 'done' });
      }),
    );
    const received = await allEvents(await fetch(url));
    expect(received.map((event) => [event.event, event.id])).toEqual([
      ['tool_call', '7'],
      ['tool_result', undefined],
      ['final', undefined],
    ]);
  });

  it('refuses a name with a line break or of the wrong type when created, not when sending', () => {
    const writer = { send: () => Promise.resolve() } as unknown as SseWriter;
    const codes = [{ thought: 'a\r\nb' }, { final: 42 }, null].map((names) => {
      try {
        agentEvents(writer, names as never);
      } catch (error) {
        return isSseError(error) ? [error.code, error.field] : error;
      }
      return undefined;
    });
    expect(codes).toEqual([
      ['INVALID_EVENT', 'event'],
      ['INVALID_OPTION', 'names.final'],
      ['INVALID_OPTION', 'names'],
    ]);
  });

  it('types each payload, and narrows them for an endpoint', () => {
    const writer = { send: () => Promise.resolve() } as unknown as SseWriter;
    const emit = agentEvents(writer);
    expectTypeOf(emit.thought).parameter(0).toEqualTypeOf<{ text: string }>();
    // @ts-expect-error an action needs its input
    void emit.action({ tool: 'search' });

    interface SearchAgent extends AgentEventMap {
      action: { tool: 'search'; input: { query: string } };
    }
    const narrowed = agentEvents<SearchAgent>(writer);
    expectTypeOf(narrowed.action).parameter(0).toEqualTypeOf<{
      tool: 'search';
      input: { query: string };
    }>();
  });
});
