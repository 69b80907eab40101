// The demo page: streams /api/chat or /api/agent with EventSource (GET) or fetch (POST + a
// stream reader), shows tokens as they arrive, and stops the server's producer on Stop. The
// resumable chat (/api/chats/:id) survives a reload: the page remembers the chat id and, when it
// loads again, follows the same generation on its resume route with EventSource.
// Plain JS, no build step.

const form = document.querySelector('#ask');
const promptBox = document.querySelector('#prompt');
const sendButton = document.querySelector('#send');
const stopButton = document.querySelector('#stop');
const statusLine = document.querySelector('#status');
const answer = document.querySelector('#answer');
const eventList = document.querySelector('#events');

/** Stops whatever is streaming now; replaced by each run. */
let stopCurrent = () => {};

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
  const busy = state === 'streaming';
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
}

function addEvent(name, text) {
  const item = document.createElement('li');
  item.dataset.event = name;
  const label = document.createElement('b');
  label.textContent = name;
  item.append(label, text);
  eventList.append(item);
}

function describe(name, payload) {
  if (name === 'action') return `${payload.tool}(${JSON.stringify(payload.input)})`;
  if (name === 'observation') return payload.output;
  if (name === 'final') return `answer complete, ${payload.output.length} characters`;
  return payload.text;
}

/** Handles one event, whichever transport delivered it. Returns true when the stream is over. */
function onEvent(name, data) {
  switch (name) {
    case 'message':
    case 'token':
      answer.textContent += data;
      return false;
    case 'thought':
    case 'action':
    case 'observation':
    case 'final':
      addEvent(name, describe(name, JSON.parse(data)));
      return false;
    case 'done':
      setStatus('done', 'Done');
      sessionStorage.removeItem(CHAT_KEY); // a resumable chat that ended needs no resume
      return true;
    case 'error': {
      let message = 'The server reported an error';
      try {
        message = JSON.parse(data).error ?? message;
      } catch {
        // not JSON: keep the generic message
      }
      setStatus('error', message);
      return true;
    }
    default:
      return false;
  }
}

function viaEventSource(path, prompt) {
  const source = new EventSource(`${path}?${new URLSearchParams({ prompt })}`);
  const names = ['message', 'token', 'thought', 'action', 'observation', 'final', 'done'];
  for (const name of names) {
    source.addEventListener(name, (event) => {
      // `done` is what makes the close safe: without it EventSource reconnects when the
      // response ends, and the server runs the prompt again.
      if (onEvent(name, event.data)) source.close();
    });
  }
  source.addEventListener('error', (event) => {
    // A server-sent `event: error` carries data; a connection error does not.
    if (event.data !== undefined) onEvent('error', event.data);
    else setStatus('error', 'Connection lost');
    // Never let the browser reconnect on its own: it would re-run the prompt.
    source.close();
  });
  return () => source.close();
}

function viaFetch(path, prompt) {
  const controller = new AbortController();
  (async () => {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ prompt }),
      signal: controller.signal,
    });
    if (!response.ok || response.body === null) {
      throw new Error(`HTTP ${response.status}`);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = createSseParser(onEvent);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (parser.push(value)) {
        await reader.cancel();
        return;
      }
    }
    if (statusLine.dataset.state === 'streaming') setStatus('error', 'Stream ended early');
  })().catch((error) => {
    if (controller.signal.aborted) return;
    setStatus('error', String(error.message ?? error));
  });
  return () => controller.abort();
}

/** Where the page keeps the id of a resumable chat that has not ended, across reloads. */
const CHAT_KEY = 'ssekit-demo-chat';

/** Starts a resumable chat: POST /api/chats/:id, read with fetch; Stop uses the stop route. */
function viaResumable(prompt) {
  const id = `chat-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  sessionStorage.setItem(CHAT_KEY, id);
  const stop = viaFetch(`/api/chats/${encodeURIComponent(id)}`, prompt);
  return () => {
    stop();
    stopChat(id);
  };
}

/**
 * Follows a resumable chat after a reload: EventSource on its resume route, from the start (no
 * id yet), then from its Last-Event-ID whenever the connection drops: the browser reconnects by
 * itself and the server continues where the page was.
 */
function resumeChat(id) {
  const source = new EventSource(`/api/chats/${encodeURIComponent(id)}/stream`);
  const end = () => {
    source.close();
    sessionStorage.removeItem(CHAT_KEY);
  };
  for (const name of ['message', 'done']) {
    source.addEventListener(name, (event) => {
      if (onEvent(name, event.data)) end();
    });
  }
  source.addEventListener('error', (event) => {
    if (event.data !== undefined) {
      onEvent('error', event.data);
      end();
    } else if (source.readyState === EventSource.CLOSED) {
      // 204: nothing to resume (the chat expired), or the server refused.
      setStatus('idle', 'Nothing to resume');
      end();
    }
    // Otherwise the browser reconnects by itself, with its Last-Event-ID.
  });
  return () => {
    end();
    stopChat(id);
  };
}

function stopChat(id) {
  sessionStorage.removeItem(CHAT_KEY);
  void fetch(`/api/chats/${encodeURIComponent(id)}/stop`, { method: 'POST' });
}

/**
 * A small SSE parser for fetch streams (the HTML standard's rules: lines end in CRLF, LF or CR;
 * one optional space after the colon; comments start with a colon; a blank line dispatches).
 * `push` returns true once `onEvent` said the stream is over.
 */
function createSseParser(dispatch) {
  let buffer = '';
  let data = [];
  let name = '';
  let first = true;
  return {
    push(text) {
      buffer += text;
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      for (;;) {
        const match = /\r\n|\r|\n/.exec(buffer);
        // A lone CR at the end may be the first half of a CRLF: wait for more.
        if (match === null || (match[0] === '\r' && match.index === buffer.length - 1)) {
          return false;
        }
        const line = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        if (line === '') {
          if (data.length > 0 && dispatch(name || 'message', data.join('\n'))) return true;
          data = [];
          name = '';
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        let value = colon === -1 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') name = value;
      }
    },
  };
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  stopCurrent();
  const mode = form.elements.mode.value;
  const transport = form.elements.transport.value;
  answer.textContent = '';
  eventList.replaceChildren();
  setStatus('streaming', 'Streaming…');
  if (mode === 'resumable') {
    stopCurrent = viaResumable(promptBox.value);
    return;
  }
  const path = mode === 'agent' ? '/api/agent' : '/api/chat';
  const start = transport === 'fetch' ? viaFetch : viaEventSource;
  stopCurrent = start(path, promptBox.value);
});

// A resumable chat that had not ended when the page was left continues now.
const pendingChat = sessionStorage.getItem(CHAT_KEY);
if (pendingChat !== null) {
  form.elements.mode.value = 'resumable';
  setStatus('streaming', 'Resuming…');
  stopCurrent = resumeChat(pendingChat);
}

stopButton.addEventListener('click', () => {
  stopCurrent();
  stopCurrent = () => {};
  setStatus('stopped', 'Stopped');
});
