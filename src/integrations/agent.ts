/**
 * Agent loops as named events: thoughts, tool actions, observations and the final answer, with
 * typed payloads, in the shape of the GitLab Duo `SingleAction::Executor` loop.
 * @module
 */
import { SseError } from '../errors.js';
import { type EventFields, formatFields } from '../format.js';
import type { SseWriter } from '../stream.js';

/**
 * The events of an agent loop and their payloads, each sent as compact JSON. Extend it to narrow
 * the payloads of one endpoint (e.g. `action: { tool: 'search'; input: { query: string } }`).
 *
 * @example Narrowing the final answer
 * ```ts
 * import type { AgentEventMap } from 'ssekit';
 *
 * interface CitedAgent extends AgentEventMap {
 *   final: { output: string; sources: string[] };
 * }
 * ```
 */
export interface AgentEventMap {
  /** The model's reasoning before it acts. Sent as `event: thought`. */
  thought: {
    /** The reasoning text. */
    text: string;
  };
  /** The tool the agent calls and its input. Sent as `event: action`. */
  action: {
    /** The tool's name. */
    tool: string;
    /** The tool's input. */
    input: unknown;
    /** The call's id, to pair it with its observation. */
    id?: string;
  };
  /** What the tool returned. Sent as `event: observation`. */
  observation: {
    /** The tool's name. */
    tool: string;
    /** What the tool returned. */
    output: unknown;
    /** The id of the action it answers. */
    id?: string;
  };
  /** The answer that ends the loop. Sent as `event: final`. */
  final: {
    /** The final answer. */
    output: string;
  };
}

/**
 * Event names that replace the defaults (`thought`, `action`, `observation`, `final`).
 *
 * @example The names of an existing client
 * ```ts
 * import type { AgentEventNames } from 'ssekit';
 *
 * const names: AgentEventNames = { action: 'tool_call', observation: 'tool_result' };
 * ```
 */
export type AgentEventNames = { [K in keyof AgentEventMap]?: string | undefined };

/**
 * Fields an agent event may carry besides its name: an `id` for Last-Event-ID, a `retry`.
 *
 * @example An id for Last-Event-ID
 * ```ts
 * import { agentEvents, type AgentEventFields, type SseWriter } from 'ssekit';
 *
 * declare const writer: SseWriter;
 * const fields: AgentEventFields = { id: 3 };
 * await agentEvents(writer).thought({ text: 'checking' }, fields);
 * ```
 */
export type AgentEventFields = Omit<EventFields, 'event'>;

/**
 * A typed emitter for one stream: one bound method per agent event, each sending its payload as
 * a named event and returning the writer's promise (await it to honour backpressure).
 *
 * @example Passing the emitter to the loop
 * ```ts
 * import type { AgentEvents } from 'ssekit';
 *
 * async function step(emit: AgentEvents): Promise<void> {
 *   await emit.thought({ text: 'I should search.' });
 *   await emit.action({ tool: 'search', input: 'sse spec' });
 * }
 * ```
 */
export type AgentEvents<M extends AgentEventMap = AgentEventMap> = {
  readonly [K in keyof AgentEventMap]: (data: M[K], fields?: AgentEventFields) => Promise<void>;
};

const KEYS = ['thought', 'action', 'observation', 'final'] as const;

/**
 * Makes a typed emitter of agent events on a writer: `thought`, `action`, `observation` and
 * `final`, or the endpoint's own names. Names are checked at once (no CR or LF). Named events
 * need the SSE format: raw, NDJSON and custom formats send the payloads without their names.
 *
 * @throws {@link SseError} `INVALID_EVENT` for a name that cannot be sent, `INVALID_OPTION` for a
 *   name that is not a string.
 *
 * @example A ReAct loop (the GitLab Duo executor's shape)
 * ```ts
 * import { agentEvents } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * declare function think(scratchpad: string): Promise<{ thought: string; tool?: string; input?: string; answer?: string }>;
 * declare function runTool(tool: string, input: string): Promise<string>;
 *
 * export const agent = sse(async (writer) => {
 *   const emit = agentEvents(writer);
 *   let scratchpad = '';
 *   for (let step = 0; step < 5 && !writer.signal.aborted; step++) {
 *     const answer = await think(scratchpad);
 *     await emit.thought({ text: answer.thought });
 *     if (answer.answer !== undefined) return void (await emit.final({ output: answer.answer }));
 *     const { tool = '', input = '' } = answer;
 *     await emit.action({ tool, input });
 *     const output = await runTool(tool, input);
 *     await emit.observation({ tool, output });
 *     scratchpad += `Thought: ${answer.thought}\nObservation: ${output}\n`;
 *   }
 * });
 * ```
 *
 * @example Renamed events with narrowed payloads
 * ```ts
 * import { agentEvents, type AgentEventMap, type SseWriter } from 'ssekit';
 *
 * interface SearchAgent extends AgentEventMap {
 *   action: { tool: 'search'; input: { query: string } };
 * }
 * function emitter(writer: SseWriter) {
 *   return agentEvents<SearchAgent>(writer, { action: 'tool_call', observation: 'tool_result' });
 * }
 * ```
 */
export function agentEvents<M extends AgentEventMap = AgentEventMap>(
  writer: SseWriter,
  names: AgentEventNames = {},
): AgentEvents<M> {
  if (typeof names !== 'object' || names === null) {
    throw new SseError('INVALID_OPTION', `\`names\` must be an object, received ${typeof names}`, {
      field: 'names',
    });
  }
  const emitter = {} as Record<keyof AgentEventMap, AgentEvents<M>[keyof AgentEventMap]>;
  for (const key of KEYS) {
    const event = names[key] ?? key;
    if (typeof event !== 'string') {
      throw new SseError(
        'INVALID_OPTION',
        `\`names.${key}\` must be a string, received ${typeof event}`,
        { field: `names.${key}` },
      );
    }
    formatFields({ event }); // throws INVALID_EVENT now rather than on the first send
    emitter[key] = function sendAgentEvent(data: unknown, fields?: AgentEventFields) {
      return writer.send(data, { ...fields, event });
    };
  }
  return emitter as AgentEvents<M>;
}
