/**
 * The demo page: a live room on the client SDK. Query parameters:
 * `channel` (default room:lobby), `user` (a display name), `token` (a JWT; without
 * it the page asks the gateway's development-mode `/dev/token`), `url` (the
 * WebSocket endpoint; default this origin's /ws; one the SDK refuses leaves the page idle,
 * saying why), `autoconnect=false` (start idle,
 * connect on the button), `transport` (`websocket` or `sse` forces one; default auto).
 */
import {
  type StateChange,
  type Subscription,
  TetherClient,
  TetherClientError,
} from '../../../packages/client/src/index.ts';
import { renderReport } from './diagnose-view.ts';
import { MessageList } from './message-list.ts';
import { statusView } from './status-text.ts';

const params = new URLSearchParams(location.search);
const channel = params.get('channel') ?? 'room:lobby';
const user = params.get('user') ?? `guest-${Math.random().toString(36).slice(2, 6)}`;
const givenToken = params.get('token') ?? undefined;
const ownUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
const givenUrl = params.get('url');
const autoconnect = params.get('autoconnect') !== 'false';
const TRANSPORTS = ['auto', 'websocket', 'sse'] as const;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const statusEl = $('status');
const statusText = $('status-text');
const messages = new MessageList($<HTMLOListElement>('events'), $('empty'));

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

/** What the page itself cannot do, told in the problem box: the address names no valid channel or url. */
let pageProblem: { message: string; code: string; recovery: string } | undefined;

/** The client; a `?url=` the SDK refuses leaves it on this gateway, idle, and the page says why. */
function createClient(): { client: TetherClient; usable: boolean } {
  const options = {
    // A token in the address is fixed: once it expires the client stops and the page says to get a new one.
    ...(givenToken ? { token: givenToken } : { getToken: devToken }),
    clientName: 'tether-demo',
    transport: TRANSPORTS.find((name) => name === params.get('transport')),
  };
  try {
    return { client: new TetherClient({ url: givenUrl ?? ownUrl, ...options }), usable: true };
  } catch (error) {
    if (givenUrl === null) throw error;
    pageProblem = {
      message: (error as Error).message,
      code: '?url=',
      recovery:
        'Open the page with a WebSocket endpoint (?url=wss://host/ws), or without ?url= for this gateway.',
    };
    return { client: new TetherClient({ url: ownUrl, ...options }), usable: false };
  }
}
const { client, usable } = createClient();

/**
 * For tests and the curious: `tetherDemo.received` lists every event ID shown, in order;
 * `states` every state change, with the reconnect attempts spent so far in `attempts`.
 */
const demo = { client, received: [] as string[], states: [] as string[], attempts: [] as number[] };
Object.assign(window, { tetherDemo: demo });

let last: StateChange | undefined;

/** The room, or undefined when `channel` is not a channel name: the page still connects and diagnoses. */
function subscribeRoom(): Subscription | undefined {
  try {
    return client.subscribe(channel);
  } catch (error) {
    pageProblem ??= {
      message: (error as Error).message,
      code: '?channel=',
      recovery:
        'Open the page with a channel name of letters, digits and _ . : - (up to 128), e.g. ?channel=room:lobby.',
    };
    return undefined;
  }
}

/** Why nothing shows: the connection is down, the room was refused, or the page has no room. */
function currentProblem(
  state: string,
): { message: string; code: string; recovery: string; tone: string } | undefined {
  const error = state === 'failed' || state === 'reconnecting' ? last?.error : undefined;
  if (error) {
    const recovery =
      error.code === 'AUTH_TOKEN_EXPIRED' && givenToken
        ? 'The token in this page’s address has expired: open the page with a new ?token=.'
        : error.recovery;
    const lead = state === 'failed' ? 'Stopped' : 'Disconnected';
    return { message: `${lead}: ${error.message}`, code: error.code, recovery, tone: state };
  }
  if (room?.state === 'failed' && room.lastError) {
    const { message, code, recovery } = room.lastError;
    return { message: `Not subscribed to ${channel}: ${message}`, code, recovery, tone: 'failed' };
  }
  return pageProblem && { ...pageProblem, tone: 'failed' };
}
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
    transport: client.transport,
    roomProblem: room ? room.state === 'failed' && room.lastError?.code : 'bad ?channel=',
  });
  statusEl.dataset.state = state;
  (statusEl.querySelector('.dot') as HTMLElement).textContent = view.dot;
  statusText.textContent = view.text;
  statusEl.title = view.text; // the pill has a fixed width: the full text on hover
  // Nothing to reconnect while a connection is up or on its way.
  const button = $<HTMLButtonElement>('reconnect');
  button.disabled = state === 'connected' || state === 'connecting';
  button.textContent = state === 'idle' || state === 'closed' ? 'Connect' : 'Reconnect now';
  // Why the connection is down, while it is: the cause and what to do, from the error registry.
  const problem = $('problem');
  const shown = currentProblem(state);
  problem.hidden = !shown;
  if (shown) {
    problem.dataset.state = shown.tone;
    $('problem-message').textContent = shown.message;
    $('problem-code').textContent = shown.code;
    $('problem-recovery').textContent = `What to do: ${shown.recovery}`;
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
const room = subscribeRoom();
room?.on('publication', (event) => {
  demo.received.push(event.id);
  messages.show(event);
});
room?.on('state', () => render());
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

$('reconnect').addEventListener('click', () => client.connect());
$('disconnect').addEventListener('click', () => client.disconnect());
$<HTMLFormElement>('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('message');
  const text = input.value.trim();
  if (!text || !room) return; // without a room there is nowhere to send it: the problem box says why
  input.value = '';
  const message = { user, text, mid: `${user}-${Date.now().toString(36)}-${(seq++).toString(36)}` };
  messages.addPending(message, client.state === 'connected' ? 'ack' : 'connection');
  client.publish(channel, message).then(
    () => messages.stored(message.mid),
    (error: TetherClientError) => messages.failed(message.mid, `${error.code}: ${error.message}`),
  );
});
let seq = 0;

$<HTMLInputElement>('show-ids').addEventListener('change', (e) => {
  document.body.classList.toggle('show-ids', (e.target as HTMLInputElement).checked);
});

const dialog = $<HTMLDialogElement>('diagnose-dialog');
$('diagnose').addEventListener('click', () => {
  const report = $('diagnose-report');
  report.textContent = 'Running the checks…';
  dialog.showModal();
  client.diagnose().then(
    (result) => renderReport(report, result),
    (error: Error) => {
      report.textContent = `diagnose() failed: ${error.message}`;
    },
  );
});
$('diagnose-close').addEventListener('click', () => dialog.close());

$('channel').textContent = channel;
setInterval(render, 250);
render();
if (autoconnect && usable) client.connect();
room?.ready().catch(() => {
  // A refused subscription or a failed connection explains itself in the status and problem box.
});
