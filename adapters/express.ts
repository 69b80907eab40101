/**
 * Server-Sent Events for Express 4 and 5: a route-handler factory, {@link sse}, and an inline
 * form, {@link sendSse}, both on the Node transport of `ssekit/node`. The same names and options
 * as `ssekit/koa` and `ssekit/hono`.
 * @module ssekit/express
 */
import type { NextFunction, Request, Response } from 'express';
import {
  type Endpoint,
  type Handler,
  type Producer,
  resolveEndpoint,
  type SseOptions,
  streamRequested,
} from '../src/index.js';
import { isClientGone, startResponse } from '../src/node.js';

// `req.body` is there when `express.json()` ran; Express parses `req.query` itself.
const byBodyOrQuery = (req: Request): boolean => streamRequested(req.body, req.query['stream']);

async function respond<T>(
  req: Request,
  res: Response,
  producer: Producer<T>,
  endpoint: Endpoint<T, Request>,
): Promise<void> {
  const { done } = await startResponse(req, res, producer, endpoint);
  await done;
}

/**
 * Makes an Express route handler that streams what `handler` produces. Options are resolved once,
 * here. A handler that fails before its first frame goes to `next(error)` (Express's error path,
 * on Express 4 as on 5); later failures end the stream with the endpoint's error event.
 *
 * @example A chat endpoint with the stream toggle
 * ```ts
 * import express from 'express';
 * import { sse } from 'ssekit/express';
 *
 * const app = express();
 * app.post(
 *   '/chat',
 *   express.json(),
 *   sse(
 *     async (writer, req) => {
 *       for await (const token of llm(req.body.prompt, { signal: writer.signal })) {
 *         await writer.send(token);
 *       }
 *     },
 *     { done: { data: '[DONE]' }, json: true },
 *   ),
 * );
 * ```
 */
export function sse<T>(
  handler: Handler<T, [Request, Response]>,
  options: SseOptions<T, Request> = {},
): (req: Request, res: Response, next: NextFunction) => void {
  const endpoint = resolveEndpoint(options, byBodyOrQuery);
  return function sseHandler(req, res, next) {
    // Not `respond`: nothing here waits for the end, and an open stream then holds no suspended
    // async function (bench/memory.ts, issue 12).
    startResponse(req, res, (writer) => handler(writer, req, res), endpoint).catch(
      (error: unknown) => {
        // A client that left before anything was sent needs no error response.
        if (!isClientGone(error)) next(error);
      },
    );
  };
}

/**
 * Streams a producer on an Express response now, from inside an existing route handler. Resolves
 * when the stream has ended; rejects, with nothing written, if the producer failed before its
 * first frame (or the client left first), so the caller can hand the error to `next`.
 *
 * @example Streaming an SDK's stream
 * ```ts
 * import { openAIText } from 'ssekit';
 * import { sendSse } from 'ssekit/express';
 *
 * app.get('/complete', async (req, res, next) => {
 *   const stream = await openai.chat.completions.create({ model, messages, stream: true });
 *   await sendSse(res, stream, { map: openAIText }).catch(next);
 * });
 * ```
 */
export function sendSse<T>(
  res: Response,
  producer: Producer<T>,
  options: SseOptions<T, Request> = {},
): Promise<void> {
  return respond(res.req, res, producer, resolveEndpoint(options, byBodyOrQuery));
}
