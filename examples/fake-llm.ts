// Local stand-ins for the OpenAI and Anthropic streaming APIs, so the recipes run with no network
// and no key. They speak the real wire shapes: OpenAI `chat.completion.chunk` data ended by
// `data: [DONE]`, Responses API events, and Anthropic's named `message_start` …
// `content_block_delta` … `message_stop` events. Built with ssekit itself.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type SseWriter } from 'ssekit';
import { sendSse } from 'ssekit/node';

export interface FakeLlmOptions {
  /** The answer to a prompt. Default: `Hello! You said: <prompt>` */
  answer?: (prompt: string) => string;
  /** After this many tokens the stream waits until its client goes away (for abort tests). */
  holdAfter?: number;
}

/** One request the fake served. */
export interface FakeRequest {
  readonly path: string;
  /** The request's JSON body. */
  readonly body: Promise<Record<string, unknown>>;
  /** How its stream ended: `'completed'`, or `'aborted'` when the client closed the connection. */
  readonly ended: Promise<'completed' | 'aborted'>;
}

export interface FakeLlm {
  /** `http://127.0.0.1:<port>`; the OpenAI SDK's `baseURL` is this plus `/v1`. */
  readonly url: string;
  readonly requests: FakeRequest[];
  close(): Promise<void>;
}

/** Splits text the way model tokens look: words with their leading space. */
export const tokenize = (text: string): string[] => text.match(/\s*\S+/g) ?? [];

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

function lastPrompt(body: Record<string, unknown>): string {
  if (typeof body['input'] === 'string') return body['input'];
  const messages = (body['messages'] ?? []) as Array<{ content?: unknown }>;
  const content = messages.at(-1)?.content;
  return typeof content === 'string' ? content : '';
}

const clientGone = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });

type Frames = (
  writer: SseWriter,
  tokens: string[],
  hold: (i: number) => Promise<void>,
) => Promise<void>;

const openAIChat: Frames = async (writer, tokens, hold) => {
  const chunk = (delta: object, finish: string | null = null) => ({
    id: 'chatcmpl-fake',
    object: 'chat.completion.chunk',
    created: 1700000000,
    model: 'fake-gpt',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  await writer.send(chunk({ role: 'assistant', content: '' }));
  for (const [i, token] of tokens.entries()) {
    await hold(i);
    await writer.send(chunk({ content: token }));
  }
  await writer.send(chunk({}, 'stop'));
};

const openAIResponses: Frames = async (writer, tokens, hold) => {
  let sequence = 0;
  const send = (type: string, fields: object) =>
    writer.send({ type, sequence_number: sequence++, ...fields }, { event: type });
  const response = { id: 'resp_fake', object: 'response', model: 'fake-gpt', output: [] };
  await send('response.created', { response: { ...response, status: 'in_progress' } });
  for (const [i, token] of tokens.entries()) {
    await hold(i);
    const at = { item_id: 'msg_fake', output_index: 0, content_index: 0 };
    await send('response.output_text.delta', { ...at, delta: token, logprobs: [] });
  }
  await send('response.completed', { response: { ...response, status: 'completed' } });
};

const anthropic: Frames = async (writer, tokens, hold) => {
  const send = (type: string, fields: object = {}) =>
    writer.send({ type, ...fields }, { event: type });
  const message = { id: 'msg_fake', type: 'message', role: 'assistant', model: 'fake-claude' };
  await send('message_start', { message: { ...message, content: [], stop_reason: null } });
  await send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  await send('ping');
  for (const [i, token] of tokens.entries()) {
    await hold(i);
    await send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: token } });
  }
  await send('content_block_stop', { index: 0 });
  await send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null } });
  await send('message_stop');
};

const routes: Record<string, { frames: Frames; done?: { data: string } }> = {
  '/v1/chat/completions': { frames: openAIChat, done: { data: '[DONE]' } },
  '/v1/responses': { frames: openAIResponses },
  '/v1/messages': { frames: anthropic },
};

/** Starts the fake on a free loopback port. */
export async function startFakeLlm(options: FakeLlmOptions = {}): Promise<FakeLlm> {
  const { answer = (prompt: string) => `Hello! You said: ${prompt}`, holdAfter } = options;
  const requests: FakeRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = routes[path];
    if (req.method !== 'POST' || route === undefined) return void res.writeHead(404).end();
    const body = readJson(req);
    const ended = body.then(async (body) => {
      let signal: AbortSignal | undefined;
      const tokens = tokenize(answer(lastPrompt(body)));
      await sendSse(
        res,
        (writer) => {
          signal = writer.signal;
          const hold = (i: number) =>
            i === holdAfter ? clientGone(writer.signal) : Promise.resolve();
          return route.frames(writer, tokens, hold);
        },
        route.done === undefined ? {} : { done: route.done },
      );
      return signal?.aborted === true ? ('aborted' as const) : ('completed' as const);
    });
    requests.push({ path, body, ended });
    void ended.catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
