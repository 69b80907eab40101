// A React hook on ssekit/client (docs/client.md): streams an answer into state, starts over on a
// reset, and closes the request on Stop and on unmount. Plain JS with createElement, so it runs
// without a JSX build (test/client/examples.test.ts bundles it with esbuild for Chromium); with
// JSX and types it is the same code.
import { createElement, useCallback, useEffect, useRef, useState } from 'react';
import { connect } from 'ssekit/client';

/** Streams the answer of `url` (a POST route taking `{ prompt }`) into React state. */
export function useStreamedAnswer(url) {
  const [text, setText] = useState('');
  const [status, setStatus] = useState('idle');
  const current = useRef(undefined);
  useEffect(() => () => current.current?.close(), []); // unmounting cancels the request

  const ask = useCallback(
    async (prompt) => {
      current.current?.close();
      const stream = connect(url, { json: { prompt } });
      current.current = stream;
      setText('');
      setStatus('streaming');
      try {
        for await (const event of stream) {
          if (event.event === 'ssekit.reset') setText('');
          else setText((previous) => previous + event.data);
        }
        setStatus(stream.outcome === 'closed' ? 'idle' : 'done');
      } catch {
        setStatus('error');
      }
    },
    [url],
  );
  const stop = useCallback(() => current.current?.close(), []);
  return { text, status, ask, stop };
}

/** A minimal chat box on the hook. */
export function Chat({ url, prompt }) {
  const { text, status, ask, stop } = useStreamedAnswer(url);
  return createElement(
    'div',
    null,
    createElement('button', { id: 'ask', onClick: () => void ask(prompt) }, 'Ask'),
    createElement('button', { id: 'stop', onClick: stop }, 'Stop'),
    createElement('p', { id: 'status' }, status),
    createElement('pre', { id: 'answer' }, text),
  );
}
