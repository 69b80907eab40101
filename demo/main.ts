// Placeholder demo: replaced by the full multi-framework demo (issue 4).
import { createServer } from 'node:http';
import { sse } from 'ssekit/node';

const server = createServer(
  sse(async (writer) => {
    for (const token of ['Hello', ',', ' world', '!']) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await writer.send(token);
    }
  }),
);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  console.log(
    'ssekit demo: curl -N http://127.0.0.1:%d/',
    (server.address() as { port: number }).port,
  );
});
