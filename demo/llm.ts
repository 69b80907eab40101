/**
 * The demo's model: the real `openai` SDK, pointed at the embedded emulator, or at the real
 * provider when `OPENAI_API_KEY` is set.
 * @module
 */
import OpenAI from 'openai';
import { EMULATOR_MODEL } from './emulator.js';

/** The model the demo endpoints talk to. */
export interface Llm {
  /** The SDK client. */
  readonly client: OpenAI;
  /** The model name sent with every request. */
  readonly model: string;
  /** Where the answers come from, for the start-up banner. */
  readonly provider: string;
}

/**
 * The model for the demo: the real provider when `env.OPENAI_API_KEY` is set (`OPENAI_BASE_URL`
 * and `OPENAI_MODEL` optional), otherwise the emulator at `emulatorURL`.
 */
export function createLlm(
  emulatorURL: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Llm {
  const apiKey = env.OPENAI_API_KEY;
  if (apiKey) {
    const baseURL = env.OPENAI_BASE_URL || undefined;
    return {
      client: new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}) }),
      model: env.OPENAI_MODEL || 'gpt-4o-mini',
      provider: baseURL ?? 'https://api.openai.com/v1',
    };
  }
  if (emulatorURL === undefined) {
    throw new TypeError('`emulatorURL` is required when OPENAI_API_KEY is not set');
  }
  return {
    // No retries: a retried streaming request would run the prompt twice.
    client: new OpenAI({ apiKey: 'emulator', baseURL: emulatorURL, maxRetries: 0 }),
    model: EMULATOR_MODEL,
    provider: `emulator at ${emulatorURL}`,
  };
}
