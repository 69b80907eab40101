/**
 * An OpenAI-compatible chat-completions emulator for the demo and its tests: no network, no key.
 *
 * `POST /v1/chat/completions` answers like the real API: with `stream: true`, `chat.completion.chunk`
 * objects as data-only SSE ended by `data: [DONE]` (a role chunk, content deltas cut at realistic
 * token boundaries, a `finish_reason` chunk, and a usage chunk when `stream_options.include_usage`
 * is set); without it, one `chat.completion` JSON document. When the request offers `tools` and no
 * tool result is in the conversation yet, it answers with a thought and a `tool_calls` delta, so an
 * agent loop can run against it. Output is deterministic per prompt; only ids and timestamps vary.
 *
 * It watches the response's `close` event, so a client that aborts (the SDK's `signal`) is counted
 * in {@link Emulator.stats} and announced on {@link Emulator.events}: tests prove with it that a
 * Stop button really stopped the generation upstream.
 * @module
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /**
   * Milliseconds between two streamed tokens: a number, or `[min, max]` for a deterministic jitter
   * between the two (it depends only on the token's position).
   * @defaultValue `[20, 40]`
   */
  tokenDelay?: number | readonly [number, number];
  /** The port to listen on (loopback only). @defaultValue `0`, a free port */
  port?: number;
  /** The host to listen on. @defaultValue `'127.0.0.1'` */
  host?: string;
}

/** What the emulator remembers about one `chat/completions` request. */
export interface Generation {
  /** The completion id (`chatcmpl-emu…`). */
  readonly id: string;
  /** The text of the last user message. */
  readonly prompt: string;
  /** Whether the request asked for a stream. */
  readonly stream: boolean;
  /** Content tokens written so far. */
  tokensSent: number;
  /** `'streaming'` until the answer is complete or the client went away. */
  status: 'streaming' | 'completed' | 'aborted';
}

/** Counters over every request the emulator has served. */
export interface EmulatorStats {
  /** `chat/completions` requests received. */
  requests: number;
  /** Generations that ran to their end (`[DONE]` written, or the JSON answer sent). */
  completed: number;
  /** Generations cut short because the client closed the connection. */
  aborted: number;
}

/** A running emulator. */
export interface Emulator {
  /** The API base URL, ending in `/v1`: what `new OpenAI({ baseURL })` takes. */
  readonly baseURL: string;
  /** Every generation, oldest first. */
  readonly log: readonly Generation[];
  /** Counters over {@link Emulator.log}. */
  readonly stats: EmulatorStats;
  /** Emits `'request'`, `'completed'` and `'aborted'` with the {@link Generation}. */
  readonly events: EventEmitter<{
    request: [Generation];
    completed: [Generation];
    aborted: [Generation];
  }>;
  /**
   * Makes every streaming generation stop after `tokens` content tokens and wait until the
   * returned function is called: lets a test look at a stream that is certainly unfinished.
   */
  hold(tokens: number): () => void;
  /** Changes the pacing of generations that start from now on. */
  setTokenDelay(delay: number | readonly [number, number]): void;
  /** Stops listening and cuts open connections. */
  close(): Promise<void>;
}

/** The model name the emulator reports unless the request names one. */
export const EMULATOR_MODEL = 'ssekit-emulator-1';

/** The tool the emulator calls when a request offers tools: see {@link answerFor}. */
export const EMULATOR_TOOL = 'search_docs';

/**
 * The deterministic answer to a prompt: a short, multi-line text built from the prompt's words,
 * so the same prompt always streams the same tokens.
 *
 * @example
 * ```ts
 * answerFor('What is SSE?') === answerFor('What is SSE?'); // true
 * ```
 */
export function answerFor(prompt: string, observation?: string): string {
  const topic =
    prompt
      .trim()
      .replace(/\s+/g, ' ')
      .replace(/[?.!]+$/, '') || 'nothing';
  const seed = hash(topic);
  const openers = [
    'Good question!',
    "Here's the short version.",
    'Sure, let me explain.',
    'Happy to help.',
  ];
  const lines = [
    `${openers[seed % openers.length]} You asked: "${topic}".`,
    '',
    observation === undefined
      ? 'Server-Sent Events stream the answer token by token, so the page can show it while the model is still writing.'
      : `According to the docs: ${observation}`,
    '1. The server sends `data:` lines, one event per token.',
    '2. The browser reads them with EventSource, or with fetch and a stream reader.',
    `That's ${3 + (seed % 5)} ideas in total; ask again for the same answer.`,
  ];
  return lines.join('\n');
}

/** The thought the emulator states before calling {@link EMULATOR_TOOL}. */
export function thoughtFor(prompt: string): string {
  return `I should look up "${prompt.trim().slice(0, 60)}" in the ssekit docs before answering.`;
}

/** The deterministic result of the demo's `search_docs` tool for a query. */
export function searchDocs(query: string): string {
  const facts = [
    'ssekit sends each token as its own SSE frame and flushes it at once.',
    'a `done` event lets an EventSource close instead of reconnecting.',
    'aborting the request aborts the writer signal, which cancels the upstream call.',
  ];
  return facts[hash(query) % facts.length] as string;
}

/**
 * Cuts text at realistic token boundaries: words carry their leading space (`" world"`),
 * punctuation and line breaks are their own tokens, and long words are split in pieces.
 *
 * @example
 * ```ts
 * tokenize('Hello, world!\nBye'); // ['Hello', ',', ' world', '!', '\n', 'Bye']
 * ```
 */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const piece of text.match(/\n+| ?[\p{L}\p{N}']+| ?[^\s\p{L}\p{N}']| +/gu) ?? []) {
    // A long word becomes several tokens, as byte-pair encodings do ("stream" + "ing").
    if (piece.length > 8 && /^ ?[\p{L}']+$/u.test(piece)) {
      for (let i = 0; i < piece.length; i += 6) tokens.push(piece.slice(i, i + 6));
    } else tokens.push(piece);
  }
  return tokens;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

interface ChatMessage {
  role: string;
  content?: unknown;
  tool_call_id?: string;
}

interface ChatRequest {
  model?: string;
  messages?: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  tools?: unknown[];
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : ''))
      .join('');
  }
  return '';
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(parts).toString('utf8') || '{}'));
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Starts an emulator on loopback.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator({ tokenDelay: 0 });
 * const openai = new OpenAI({ baseURL: emulator.baseURL, apiKey: 'emulator' });
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { port = 0, host = '127.0.0.1' } = options;
  let tokenDelay = options.tokenDelay ?? [20, 40];
  let holdAt: number | undefined;
  let held: Promise<void> = Promise.resolve();
  let counter = 0;
  const log: Generation[] = [];
  const stats: EmulatorStats = { requests: 0, completed: 0, aborted: 0 };
  const events: Emulator['events'] = new EventEmitter();

  const delayOf = (delay: typeof tokenDelay, index: number): number =>
    typeof delay === 'number'
      ? delay
      : delay[0] + (hash(String(index)) % (delay[1] - delay[0] + 1));

  async function completions(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req)) as ChatRequest;
    const messages = Array.isArray(body.messages) ? body.messages : [];
    const prompt = textOf(messages.findLast((m) => m.role === 'user')?.content);
    const toolResult = messages.findLast((m) => m.role === 'tool');
    const callTool = Array.isArray(body.tools) && body.tools.length > 0 && !toolResult;
    const model = body.model ?? EMULATOR_MODEL;
    const generation: Generation = {
      id: `chatcmpl-emu${String(++counter).padStart(6, '0')}`,
      prompt,
      stream: body.stream === true,
      tokensSent: 0,
      status: 'streaming',
    };
    log.push(generation);
    stats.requests++;
    events.emit('request', generation);

    const content = callTool
      ? thoughtFor(prompt)
      : answerFor(prompt, toolResult && textOf(toolResult.content));
    const toolCall = {
      index: 0,
      id: `call_emu${String(counter).padStart(6, '0')}`,
      type: 'function' as const,
      function: { name: EMULATOR_TOOL, arguments: JSON.stringify({ query: prompt }) },
    };
    const finishReason = callTool ? 'tool_calls' : 'stop';
    const tokens = tokenize(content);
    const usage = {
      prompt_tokens: tokenize(messages.map((m) => textOf(m.content)).join('\n')).length,
      completion_tokens: tokens.length,
      total_tokens: 0,
    };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const created = Math.floor(Date.now() / 1000);

    if (!generation.stream) {
      generation.tokensSent = tokens.length;
      sendJson(res, 200, {
        id: generation.id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content,
              refusal: null,
              ...(callTool ? { tool_calls: [toolCall] } : {}),
            },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
      });
      generation.status = 'completed';
      stats.completed++;
      events.emit('completed', generation);
      return;
    }

    let gone = false;
    res.once('close', function onClientClose() {
      if (generation.status !== 'streaming') return;
      gone = true;
      generation.status = 'aborted';
      stats.aborted++;
      events.emit('aborted', generation);
    });
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    res.socket?.setNoDelay(true);
    const chunk = (delta: object, finish: string | null = null): string =>
      `data: ${JSON.stringify({
        id: generation.id,
        object: 'chat.completion.chunk',
        created,
        model,
        system_fingerprint: 'fp_emulator',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      })}\n\n`;

    const delay = tokenDelay;
    res.write(chunk({ role: 'assistant', content: '', refusal: null }));
    for (const [index, token] of tokens.entries()) {
      if (holdAt !== undefined && index === holdAt) await held;
      const wait = delayOf(delay, index);
      // 0 (tests): still one turn of the event loop per token, without a timer's 1 ms minimum.
      await new Promise((resolve) =>
        wait > 0 ? setTimeout(resolve, wait) : setImmediate(resolve),
      );
      if (gone) return;
      res.write(chunk({ content: token }));
      generation.tokensSent++;
    }
    if (callTool) {
      res.write(
        chunk({ tool_calls: [{ ...toolCall, function: { ...toolCall.function, arguments: '' } }] }),
      );
      res.write(
        chunk({ tool_calls: [{ index: 0, function: { arguments: toolCall.function.arguments } }] }),
      );
    }
    res.write(chunk({}, finishReason));
    if (body.stream_options?.include_usage) {
      res.write(
        `data: ${JSON.stringify({ id: generation.id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`,
      );
    }
    generation.status = 'completed';
    res.end('data: [DONE]\n\n');
    stats.completed++;
    events.emit('completed', generation);
  }

  const server: Server = createServer(function emulatorListener(req, res) {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      completions(req, res).catch((error: unknown) => {
        if (!res.headersSent) {
          sendJson(res, 400, {
            error: { message: String(error), type: 'invalid_request_error', code: null },
          });
        } else res.destroy();
      });
    } else if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: EMULATOR_MODEL, object: 'model', created: 0, owned_by: 'ssekit' }],
      });
    } else {
      sendJson(res, 404, {
        error: { message: `Unknown route ${req.method} ${path}`, type: 'invalid_request_error' },
      });
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;

  return {
    baseURL: `http://${host}:${address.port}/v1`,
    log,
    stats,
    events,
    hold(tokens) {
      let release!: () => void;
      held = new Promise<void>((resolve) => (release = resolve));
      holdAt = tokens;
      return () => {
        holdAt = undefined;
        release();
      };
    },
    setTokenDelay(delay) {
      tokenDelay = delay;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
