// docs/fastify.md: ssekit/fastify on Fastify 5 with compression and ETags app-wide, a hook, the
// stream toggle, the inline form and an error handler.
// Run: npx tsx examples/fastify.ts
import { fileURLToPath } from 'node:url';
import fastifyCompress from '@fastify/compress';
import fastifyEtag from '@fastify/etag';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { sendSse, sse } from 'ssekit/fastify';

/**
 * Stands in for an SDK's streaming call: rejects before any token on a bad request (as a
 * provider's 400 does), else resolves to the answer's tokens, which stop when `signal` aborts.
 */
export async function ask(prompt: string, signal: AbortSignal): Promise<AsyncIterable<string>> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  if (prompt === '') throw Object.assign(new Error('`prompt` is empty'), { statusCode: 400 });
  return (async function* () {
    for (const token of ['You', ' asked', ':', ` ${prompt}`]) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (signal.aborted) return;
      yield token;
    }
  })();
}

export async function buildApp(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options);
  // App-wide as usual: both act in onSend, which a stream never reaches, so they leave it alone.
  await app.register(fastifyCompress);
  await app.register(fastifyEtag);

  // Hooks run before the stream starts, and the headers they set go out with it.
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.post<{ Body: { prompt: string } }>(
    '/chat',
    sse((writer, request) => ask(request.body.prompt, writer.signal), {
      done: { event: 'done', data: '' }, // lets an EventSource client close instead of reconnecting
      json: true, // {"stream": false} in the body (or ?stream=false) answers {"response": "…"}
    }),
  );

  // The inline form, inside a route handler you already have: a GET for `new EventSource(…)`.
  app.get<{ Querystring: { prompt?: string } }>('/events', async (request, reply) => {
    const { prompt = '' } = request.query;
    request.log.info({ prompt }, 'streaming an answer');
    await sendSse(reply, (writer) => ask(prompt, writer.signal), {
      done: { event: 'done', data: '' },
    });
  });

  // Failures before the first frame land here. Fastify's default handler would send
  // `error.message` even for a 500; this one keeps internal messages to the log.
  app.setErrorHandler((error: Error & { statusCode?: number }, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) request.log.error(error);
    const message = status < 500 ? error.message : 'Internal Server Error';
    return reply.code(status).send({ error: message });
  });
  return app;
}

/** Starts the example on `port` (127.0.0.1). */
export async function start(
  port: number,
  options?: FastifyServerOptions,
): Promise<FastifyInstance> {
  const app = await buildApp(options);
  await app.listen({ port, host: '127.0.0.1' });
  return app;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  void start(3000, { logger: true }).then(() => {
    console.log(
      `curl -N localhost:3000/chat -H 'content-type: application/json' -d '{"prompt":"Hi"}'`,
    );
    console.log('curl -N "localhost:3000/events?prompt=Hi"');
  });
}
