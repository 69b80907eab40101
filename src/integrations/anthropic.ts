/**
 * Anthropic message streams → tokens, typed structurally so `@anthropic-ai/sdk` is never a
 * dependency of ssekit.
 * @module
 */
import { SseError } from '../errors.js';

/**
 * The part of an Anthropic Messages stream event that ssekit reads: the SDK's
 * `RawMessageStreamEvent` (from `client.messages.create({ stream: true })`) and the JSON `data` of
 * the raw `text/event-stream` fit it.
 *
 * @example A text delta
 * ```ts
 * import type { AnthropicStreamEvent } from 'ssekit';
 *
 * const event: AnthropicStreamEvent = {
 *   type: 'content_block_delta',
 *   delta: { type: 'text_delta', text: 'Hi' },
 * };
 * ```
 */
export interface AnthropicStreamEvent {
  /** `'message_start'`, `'content_block_delta'`, `'message_stop'`, `'ping'`, `'error'`, … */
  readonly type: string;
  /** On `content_block_delta`: `{ type: 'text_delta', text }` for text. */
  readonly delta?: unknown;
  /** On `error` events: what went wrong. */
  readonly error?: unknown;
}

/**
 * Returns the text one Anthropic stream event adds (a `content_block_delta` holding a
 * `text_delta`), or `undefined` for every other event (message and block starts and stops,
 * `ping`, tool-input and thinking deltas), so it can be the `map` option of an endpoint: the
 * stream's events become tokens.
 *
 * An `error` event (e.g. `overloaded_error` mid-stream) is thrown as an {@link SseError}
 * `UPSTREAM_ERROR`, so the endpoint ends with its error event instead of a silently cut answer.
 * Hand the endpoint's signal to the SDK call (`create(body, { signal: writer.signal })`) so a
 * client that goes away stops the generation.
 *
 * @throws {@link SseError} `UPSTREAM_ERROR` for an `error` event.
 *
 * @example Tokens from the Anthropic SDK
 * ```ts
 * import Anthropic from '@anthropic-ai/sdk';
 * import { anthropicText } from 'ssekit';
 * import { sse } from 'ssekit/node';
 *
 * const client = new Anthropic();
 * export const chat = sse(
 *   (writer) =>
 *     client.messages.create(
 *       {
 *         model: 'claude-sonnet-4-5',
 *         max_tokens: 1024,
 *         messages: [{ role: 'user', content: 'Hi' }],
 *         stream: true,
 *       },
 *       { signal: writer.signal },
 *     ),
 *   { map: anthropicText },
 * );
 * ```
 */
export function anthropicText(event: AnthropicStreamEvent): string | undefined {
  if (event.type === 'content_block_delta') {
    const delta = event.delta as { type?: unknown; text?: unknown } | null | undefined;
    if (delta?.type === 'text_delta' && typeof delta.text === 'string' && delta.text !== '') {
      return delta.text;
    }
    return undefined;
  }
  if (event.type === 'error') {
    throw new SseError('UPSTREAM_ERROR', 'the Anthropic stream reported an `error` event', {
      cause: event.error ?? event,
    });
  }
  return undefined;
}
