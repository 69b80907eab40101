// docs/formats.md: one app, one frame format per endpoint.
import express from 'express';
import { customFormat, sseEvent } from 'ssekit';
import { sse } from 'ssekit/express';

const tokens = ['Hello', ',', ' world', '!\nBye'];

export const app = express();

// The default: spec SSE, with named events, ids, a retry hint and OpenAI's terminal frame.
app.get(
  '/sse',
  sse(
    () => tokens.map((token, index) => sseEvent({ token }, { event: 'token', id: String(index) })),
    { retry: 5000, done: { data: '[DONE]' } },
  ),
);

// A raw token stream, as the GitLab AI Gateway answers: just the text, chunk by chunk.
app.get(
  '/raw',
  sse(() => tokens, { format: 'raw' }),
);

// NDJSON: one JSON value per line.
app.get(
  '/ndjson',
  sse(() => tokens, { format: 'ndjson', map: (token) => ({ token }) }),
);

// lanarky's body_prefix/body_suffix, made safe: JSON data, so a token's newline is escaped.
app.get(
  '/custom',
  sse(() => tokens, {
    format: customFormat({ prefix: 'data: ', suffix: '\n\n', contentType: 'text/event-stream' }),
    map: (token) => ({ token }),
  }),
);
