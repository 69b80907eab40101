// The README's core tour: the frames ssekit writes, and a fetch-runtime Response.
import { formatEvent, toSseResponse } from 'ssekit';

export const frames = [
  formatEvent(' world'), // 'data:  world\n\n': the leading space survives
  formatEvent('line 1\nline 2'), // 'data: line 1\ndata: line 2\n\n'
  formatEvent({ token: 'é' }, { event: 'token', id: '7' }), // 'event: token\nid: 7\ndata: {"token":"é"}\n\n'
];

// Bun, Deno, Workers, Next.js route handlers: any async iterable, ReadableStream or handler.
export function GET(request: Request): Promise<Response> {
  return toSseResponse(
    async (writer) => {
      for (const token of ['Hello', ',', ' world']) await writer.send(token);
    },
    // The request's signal aborts the writer's when the client disconnects.
    { done: { event: 'done', data: '' }, signal: request.signal },
  );
}
