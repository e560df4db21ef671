/**
 * The demo page: a live room on the client SDK. Query parameters:
 * `channel` (default room:lobby), `user` (a display name), `token` (a JWT; without
 * it the page asks the gateway's development-mode `/dev/token`), `url` (the
 * WebSocket endpoint; default this origin's /ws), `autoconnect=false` (start idle,
 * connect on the button).
 */
import {
  type ChannelEvent,
  type StateChange,
  TetherClient,
  TetherClientError,
} from '../../../packages/client/src/index.ts';
import { statusView } from './status-text.ts';

const params = new URLSearchParams(location.search);
const channel = params.get('channel') ?? 'room:lobby';
const user = params.get('user') ?? `guest-${Math.random().toString(36).slice(2, 6)}`;
const givenToken = params.get('token') ?? undefined;
const url = params.get('url') ?? `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const autoconnect = params.get('autoconnect') !== 'false';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const statusText = $('status-text');
const eventsEl = $<HTMLOListElement>('events');

async function devToken(): Promise<string> {
  const res = await fetch(`/dev/token?sub=${encodeURIComponent(user)}`);
  if (res.status === 404) {
    // Not development mode: retrying cannot help, so fail with a non-retryable code.
    throw new TetherClientError('AUTH_INVALID_TOKEN', {
      detail: 'no token: this gateway is not in development mode — open the page with ?token=<JWT>',
    });
  }
  if (!res.ok) throw new Error(`/dev/token answered HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

const client = new TetherClient({
  url,
  getToken: givenToken ? () => givenToken : devToken,
  clientName: 'tether-demo',
});

/**
 * For tests and the curious: `tetherDemo.received` lists every event ID shown, in order;
 * `states` every state change, with the reconnect attempts spent so far in `attempts`.
 */
const demo = { client, received: [] as string[], states: [] as string[], attempts: [] as number[] };
Object.assign(window, { tetherDemo: demo });

let last: StateChange | undefined;
let queue: { position: number; estimatedWaitMs: number } | undefined;

function render(): void {
  const state = client.state;
  const view = statusView({
    state,
    retryInMs: client.retryAt === undefined ? undefined : client.retryAt - Date.now(),
    attempt: last?.attempt,
    offline: JSON.stringify(client.detailedState) === '{"reconnecting":"offline"}',
    queue: state === 'connecting' ? queue : undefined,
    errorCode: last?.error?.code,
  });
  statusEl.dataset.state = state;
  (statusEl.querySelector('.dot') as HTMLElement).textContent = view.dot;
  statusText.textContent = view.text;
  // Nothing to reconnect while a connection is up or on its way.
  const button = $<HTMLButtonElement>('reconnect');
  button.disabled = state === 'connected' || state === 'connecting';
  button.textContent = state === 'idle' || state === 'closed' ? 'Connect' : 'Reconnect now';
  const problem = $('problem');
  const error = state === 'failed' ? last?.error : undefined;
  problem.hidden = !error;
  if (error) {
    $('problem-message').textContent = error.message;
    $('problem-recovery').textContent = `What to do: ${error.recovery}`;
  }
  const { rttMs } = client.latency;
  $('meta').textContent = [
    `you are ${user}`,
    client.sessionId ? `session ${client.sessionId.slice(0, 8)}` : '',
    rttMs === undefined ? '' : `rtt ${rttMs} ms`,
  ]
    .filter(Boolean)
    .join(' · ');
}

client.on('state', (change) => {
  last = change;
  demo.states.push(change.newState);
  demo.attempts.push(change.attempt);
  if (change.newState !== 'connecting') queue = undefined;
  // "Nothing was lost" is about the connection that just came back: gone with it.
  if (change.oldState === 'connected') $('recovered').hidden = true;
  render();
});
client.on('queued', (q) => {
  queue = q;
  render();
});
client.on('event', (event) => {
  if (event.channel !== channel) return;
  demo.received.push(event.id);
  show(event);
});
client.on('recovered', ({ resumed, recovered, channels }) => {
  const el = $('recovered');
  el.hidden = false;
  el.dataset.recovered = String(recovered);
  const at = new Date().toLocaleTimeString();
  el.textContent = recovered
    ? resumed
      ? `${at} — reconnected: the session resumed and every missed event was replayed. Nothing was lost.`
      : `${at} — reconnected with a new session; missed events were replayed from the last one seen.`
    : `${at} — reconnected, but events in ${channels
        .filter((c) => !c.recovered)
        .map((c) => c.channel)
        .join(', ')} were trimmed from retention while you were away: there is a gap.`;
});
client.on('error', (error) => console.warn(`[tether] ${error.code}: ${error.message} — ${error.recovery}`));

function show(event: ChannelEvent): void {
  $('empty').hidden = true;
  const data = (event.data ?? {}) as { user?: unknown; text?: unknown };
  const li = document.createElement('li');
  li.dataset.id = event.id;
  const time = document.createElement('time');
  time.dateTime = new Date(event.ts).toISOString();
  time.textContent = new Date(event.ts).toLocaleTimeString();
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = typeof data.user === 'string' ? data.user : 'backend';
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = typeof data.text === 'string' ? data.text : JSON.stringify(event.data);
  const id = document.createElement('span');
  id.className = 'id';
  id.textContent = event.id;
  li.append(time, who, text, id);
  eventsEl.append(li);
  li.scrollIntoView({ block: 'nearest' });
}

$('reconnect').addEventListener('click', () => client.connect());
$('disconnect').addEventListener('click', () => client.disconnect());
$<HTMLFormElement>('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('message');
  const errorEl = $('send-error');
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  errorEl.textContent = client.state === 'connected' ? '' : 'queued until reconnected';
  client.publish(channel, { user, text }).then(
    () => {
      errorEl.textContent = '';
    },
    (error: TetherClientError) => {
      errorEl.textContent = `${error.code}: ${error.message}`;
    },
  );
});

$('channel').textContent = channel;
setInterval(render, 250);
render();
if (autoconnect) client.connect();
client.subscribe(channel).ready().catch((error: TetherClientError) => {
  // A failed connection already explains itself in the status and problem box.
  if (client.state !== 'failed') $('send-error').textContent = `${error.code}: ${error.message}`;
});
