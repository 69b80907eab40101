/**
 * OpenAI streams → tokens: chat-completions chunks and Responses API events, typed structurally
 * so the `openai` package is never a dependency of ssekit.
 * @module
 */
import { SseError } from '../errors.js';

/**
 * The part of a chat-completions stream chunk (`object: 'chat.completion.chunk'`) that ssekit
 * reads: the SDK's `ChatCompletionChunk` and the JSON of any OpenAI-compatible server fit it.
 *
 * @example A chunk from any OpenAI-compatible server
 * ```ts
 * import type { OpenAIChatChunk } from 'ssekit';
 *
 * const chunk: OpenAIChatChunk = { choices: [{ delta: { content: 'Hi' } }] };
 * ```
 */
export interface OpenAIChatChunk {
  /** The choices; ssekit reads the first one's `delta.content`. */
  readonly choices: ReadonlyArray<{
    /** What this chunk adds to the message. */
    readonly delta?:
      | {
          /** The text this chunk adds; absent on role, tool-call and finish chunks. */
          readonly content?: string | null | undefined;
        }
      | null
      | undefined;
  }>;
  /** Set instead of `choices` when an OpenAI-compatible server fails mid-stream. */
  readonly error?: unknown;
}

/**
 * The part of a Responses API stream event (`client.responses.create({ stream: true })`) that
 * ssekit reads: the SDK's `ResponseStreamEvent` union fits it.
 *
 * @example A Responses API text delta
 * ```ts
 * import type { OpenAIResponseEvent } from 'ssekit';
 *
 * const event: OpenAIResponseEvent = { type: 'response.output_text.delta', delta: 'Hi' };
 * ```
 */
export interface OpenAIResponseEvent {
  /** The event type, e.g. `'response.output_text.delta'`, `'response.completed'`, `'error'`. */
  readonly type: string;
  /** The text added, on `response.output_text.delta` events. */
  readonly delta?: unknown;
}

/**
 * One item of an OpenAI stream: a chat-completions chunk or a Responses API event.
 *
 * @example Typing a relayed stream
 * ```ts
 * import { readSseData, type OpenAIStreamItem } from 'ssekit';
 *
 * declare const upstream: Response;
 * const items = readSseData<OpenAIStreamItem>(upstream);
 * ```
 */
export type OpenAIStreamItem = OpenAIChatChunk | OpenAIResponseEvent;

/**
 * Returns the text one OpenAI stream item adds, or `undefined` when it adds none (the role chunk,
 * the `finish_reason` chunk, the usage chunk, Responses lifecycle events), so it can be the `map`
 * option of an endpoint or of {@link collectText}: the stream's chunks become tokens.
 *
 * It reads a chat-completions chunk's `choices[0].delta.content` and a Responses event of type
 * `response.output_text.delta`. An error the provider reports inside the stream (a chunk with
 * `error`, a Responses `error` or `response.failed` event) is thrown as an {@link SseError}
 * `UPSTREAM_ERROR`, so the endpoint ends with its error event instead of a silently cut answer;
 * the SDK throws most of these itself, a relayed stream does not.
 *
 * Hand the endpoint's signal to the SDK call (`create(body, { signal: writer.signal })`): when the
 * client goes away the request to OpenAI is aborted and the generation stops.
 *
 * @throws {@link SseError} `UPSTREAM_ERROR` for an error reported in the stream.
 *
 * @example Tokens from the chat-completions API
 * ```ts
 * import OpenAI from 'openai';
 * import { openAIText } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * const client = new OpenAI();
 * export const chat = sse(
 *   (writer) =>
 *     client.chat.completions.create(
 *       { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }], stream: true },
 *       { signal: writer.signal },
 *     ),
 *   { map: openAIText },
 * );
 * ```
 *
 * @example Tokens from the Responses API
 * ```ts
 * import OpenAI from 'openai';
 * import { openAIText, toSseResponse } from 'ssekit';
 *
 * const client = new OpenAI();
 * export async function POST(request: Request): Promise<Response> {
 *   const stream = await client.responses.create(
 *     { model: 'gpt-4o-mini', input: 'Hi', stream: true },
 *     { signal: request.signal },
 *   );
 *   return toSseResponse(stream, { map: openAIText });
 * }
 * ```
 */
export function openAIText(item: OpenAIStreamItem): string | undefined {
  if ('choices' in item) {
    const choices: OpenAIChatChunk['choices'] = Array.isArray(item.choices) ? item.choices : [];
    const content = choices[0]?.delta?.content;
    return typeof content === 'string' && content !== '' ? content : undefined;
  }
  if ('error' in item && item.error !== undefined && item.error !== null) {
    throw upstreamError('an error chunk', item.error);
  }
  if ('type' in item) {
    if (item.type === 'response.output_text.delta') {
      return typeof item.delta === 'string' && item.delta !== '' ? item.delta : undefined;
    }
    if (item.type === 'error' || item.type === 'response.failed') {
      throw upstreamError(`a \`${item.type}\` event`, item);
    }
  }
  return undefined;
}

function upstreamError(what: string, cause: unknown): SseError {
  return new SseError('UPSTREAM_ERROR', `the OpenAI stream reported ${what}`, { cause });
}
