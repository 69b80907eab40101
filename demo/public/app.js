// The demo page: streams /api/chat or /api/agent with EventSource (GET) or with ssekit/client
// (fetch, POST), shows tokens as they arrive, and stops the server's producer on Stop. The
// resumable chat streams POST /api/chats/:id with ssekit/client: "Cut connection" drops it and
// the client resumes with GET /api/chats/:id/stream and Last-Event-ID (the answer goes on); a
// reload mid-answer follows the same generation again (the page remembers the chat id).
// No build step: /client.js is ssekit/client, bundled by the demo server.
import { connect } from '/client.js';

const form = document.querySelector('#ask');
const promptBox = document.querySelector('#prompt');
const sendButton = document.querySelector('#send');
const stopButton = document.querySelector('#stop');
const cutButton = document.querySelector('#cut');
const statusLine = document.querySelector('#status');
const resumesLine = document.querySelector('#resumes');
const answer = document.querySelector('#answer');
const eventList = document.querySelector('#events');

/** Stops whatever is streaming now; replaced by each run. */
let stopCurrent = () => {};
/** Drops the connection of the resumable stream now (not the stream itself). */
let cutCurrent = () => {};

function setStatus(state, text) {
  statusLine.dataset.state = state;
  statusLine.textContent = text;
  const busy = state === 'streaming' || state === 'reconnecting';
  sendButton.disabled = busy;
  stopButton.disabled = !busy;
  cutButton.disabled = !(busy && form.elements.mode.value === 'resumable');
}

function setResumes(count, text) {
  resumesLine.dataset.count = String(count);
  resumesLine.textContent = text;
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

const AGENT_EVENTS = ['thought', 'action', 'observation', 'final'];

/** Handles one event, whichever transport delivered it (agent payloads already parsed). */
function onEvent(name, data) {
  if (name === 'message' || name === 'token') answer.textContent += data;
  else if (AGENT_EVENTS.includes(name)) addEvent(name, describe(name, data));
}

function errorText(data) {
  return (data && typeof data === 'object' && data.error) || 'The server reported an error';
}

function viaEventSource(path, prompt) {
  const source = new EventSource(`${path}?${new URLSearchParams({ prompt })}`);
  for (const name of ['message', 'token', ...AGENT_EVENTS]) {
    source.addEventListener(name, (event) => {
      onEvent(name, AGENT_EVENTS.includes(name) ? JSON.parse(event.data) : event.data);
    });
  }
  // `done` is what makes the close safe: without it EventSource reconnects when the response
  // ends, and the server runs the prompt again.
  source.addEventListener('done', () => {
    source.close();
    setStatus('done', 'Done');
  });
  source.addEventListener('error', (event) => {
    // A server-sent `event: error` carries data; a connection error does not.
    if (event.data !== undefined) setStatus('error', errorText(JSON.parse(event.data)));
    else setStatus('error', 'Connection lost');
    // Never let the browser reconnect on its own: it would re-run the prompt.
    source.close();
  });
  return () => source.close();
}

/** Reads a stream of ssekit/client to its end and shows how it ended. */
async function show(stream) {
  try {
    for await (const event of stream) {
      // The server could not continue from our cursor and starts over: drop the partial answer.
      if (event.event === 'ssekit.reset') answer.textContent = '';
      else onEvent(event.event, event.data);
    }
    // A resumable chat that ended (or has nothing to resume: 204) needs no resume after a reload.
    if (stream.outcome !== 'closed') sessionStorage.removeItem(CHAT_KEY);
    if (stream.outcome === 'done') setStatus('done', 'Done');
    else if (stream.outcome === 'no-content') setStatus('idle', 'Nothing to resume');
  } catch (error) {
    sessionStorage.removeItem(CHAT_KEY);
    if (error && error.code === 'SERVER_ERROR') setStatus('error', errorText(error.data));
    else if (error && error.code === 'STREAM_CUT') setStatus('error', 'Connection lost');
    else setStatus('error', String((error && error.message) || error));
  }
}

const parse = (data, event) => (AGENT_EVENTS.includes(event) ? JSON.parse(data) : data);

function viaFetch(path, prompt) {
  // Not resumable: a cut ends with STREAM_CUT, and the prompt is never sent twice.
  const stream = connect(path, { json: { prompt }, parse });
  void show(stream);
  return () => stream.close();
}

/** Where the page keeps the id of a resumable chat that has not ended, across reloads. */
const CHAT_KEY = 'ssekit-demo-chat';

/**
 * Streams a resumable chat with ssekit/client: `POST /api/chats/:id` to start it, or (after a
 * reload) `GET /api/chats/:id/stream` to follow it from its start. The fetch it uses can drop its
 * connection, as a network would: the client then resumes with `Last-Event-ID`.
 */
function viaResumable(prompt, pendingId) {
  const id =
    pendingId ?? `page-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  sessionStorage.setItem(CHAT_KEY, id);
  // A fetch whose connection the page can drop, as a network would: the stream sees a cut.
  let dropConnection = () => {};
  const droppable = (input, init) => {
    const drop = new AbortController();
    dropConnection = () => drop.abort(new DOMException('cut by the page', 'AbortError'));
    const signal = init.signal ? AbortSignal.any([init.signal, drop.signal]) : drop.signal;
    return fetch(input, { ...init, signal });
  };
  let resumes = 0;
  setResumes(0, '');
  const path = `/api/chats/${encodeURIComponent(id)}`;
  const stream = connect(pendingId === undefined ? path : `${path}/stream`, {
    ...(pendingId === undefined ? { json: { prompt } } : {}),
    fetch: droppable,
    onReconnect(info) {
      setStatus('reconnecting', `Reconnecting from ${info.lastEventId ?? 'the start'}…`);
    },
    onOpen(response) {
      const how = response.headers.get('ssekit-resume');
      if (how === 'new' || stream.reconnects === 0) return;
      resumes += 1;
      setResumes(resumes, `resumed ${resumes}× (SSEKit-Resume: ${how})`);
      setStatus('streaming', 'Streaming…');
    },
  });
  void show(stream);
  cutCurrent = () => dropConnection();
  return () => {
    stream.close();
    // The generation runs on without a reader (for a while): stop it for real.
    sessionStorage.removeItem(CHAT_KEY);
    void fetch(`${path}/stop`, { method: 'POST' });
  };
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  stopCurrent();
  const mode = form.elements.mode.value;
  const transport = form.elements.transport.value;
  answer.textContent = '';
  eventList.replaceChildren();
  setResumes(0, '');
  setStatus('streaming', 'Streaming…');
  const path = mode === 'agent' ? '/api/agent' : '/api/chat';
  if (mode === 'resumable') stopCurrent = viaResumable(promptBox.value);
  else if (transport === 'fetch') stopCurrent = viaFetch(path, promptBox.value);
  else stopCurrent = viaEventSource(path, promptBox.value);
});

// A resumable chat that had not ended when the page was left continues now.
const pendingChat = sessionStorage.getItem(CHAT_KEY);
if (pendingChat !== null) {
  form.elements.mode.value = 'resumable';
  setStatus('streaming', 'Resuming…');
  stopCurrent = viaResumable('', pendingChat);
}

stopButton.addEventListener('click', () => {
  stopCurrent();
  stopCurrent = () => {};
  setStatus('stopped', 'Stopped');
});

cutButton.addEventListener('click', () => cutCurrent());
