/**
 * A Node script on `ssekit/client` (docs/client.md): POSTs a prompt to a resumable chat route
 * and prints the answer as it streams; a dropped connection is resumed with `Last-Event-ID`,
 * never by sending the prompt again. Run: `npx tsx test/client/examples/node.ts http://127.0.0.1:3000 'Hello'`.
 */
import { connect, SseClientError } from 'ssekit/client';

/** Streams the answer to `prompt` from `baseUrl`'s `POST /api/chats/:id`; resolves to its text. */
export async function ask(
  baseUrl: string,
  prompt: string,
  write: (text: string) => void = (text) => void process.stdout.write(text),
): Promise<string> {
  const stream = connect(`${baseUrl}/api/chats/${crypto.randomUUID()}`, {
    json: { prompt },
    headers: { authorization: 'Bearer demo-token' }, // sent again on every reconnect
    signal: AbortSignal.timeout(120_000),
    onReconnect: ({ attempt, delay, lastEventId }) =>
      console.error(`\n[reconnecting in ${delay} ms after ${lastEventId}, attempt ${attempt}]`),
  });
  let answer = '';
  try {
    for await (const event of stream) {
      if (event.event === 'ssekit.reset') {
        answer = ''; // the server starts over: forget the partial answer
        write('\n[reset: ' + event.data.reason + ']\n');
        continue;
      }
      answer += event.data;
      write(event.data);
    }
  } catch (error) {
    if (error instanceof SseClientError) console.error(`\n${error.code}: ${error.message}`);
    throw error;
  }
  return answer;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [baseUrl = 'http://127.0.0.1:3000', prompt = 'What are Server-Sent Events?'] =
    process.argv.slice(2);
  await ask(baseUrl, prompt);
  process.stdout.write('\n');
}
