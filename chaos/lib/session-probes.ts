/**
 * Deliberate session probes after fuzzing (issue 10 item 2, "poison sessions"): a session
 * that subscribed to a channel named like an Object.prototype key, or with a `from` past
 * 2^64−1, is dropped and resumed. A sound gateway refuses such a `from` where it enters
 * (MALFORMED_MESSAGE: the probe then subscribes without it), resumes the session with the
 * channel listed and delivers what was published meanwhile; a poisoned one answers INTERNAL
 * or drops the channel.
 */
import WebSocket from 'ws';
import { OBJECT_KEYS } from './fuzz-frames.ts';
import { CHAOS_API_KEY } from './identity.ts';

interface Connection {
  ws: WebSocket;
  frames: Record<string, unknown>[];
  closed: Promise<number>;
}

function open(url: string, hello: object): Connection {
  const ws = new WebSocket(url);
  const frames: Record<string, unknown>[] = [];
  ws.on('open', () => ws.send(JSON.stringify(hello)));
  ws.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.on('close', resolve));
  return { ws, frames, closed };
}

async function until(conn: Connection, match: (f: Record<string, unknown>) => boolean, ms = 5000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && conn.ws.readyState <= WebSocket.OPEN) {
    const found = conn.frames.find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return conn.frames.find(match);
}

async function publish(http: string, channel: string, n: number): Promise<string | undefined> {
  const response = await fetch(`${http}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${CHAOS_API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel, data: { n } }),
  });
  return response.status === 200 ? ((await response.json()) as { id: string }).id : undefined;
}

/** One probe: subscribe, drop, publish while away, resume; what happened, in a few words. */
async function probe(
  url: string,
  http: string,
  token: string,
  channel: string,
  from?: string,
): Promise<string> {
  await publish(http, channel, 0);
  const first = open(url, { type: 'hello', token });
  const welcome = await until(first, (f) => f.type === 'welcome');
  if (!welcome) return 'no welcome';
  first.ws.send(JSON.stringify({ type: 'subscribe', ref: 'p', channel, ...(from && { from }) }));
  let answer = await until(first, (f) => f.ref === 'p');
  let refused = '';
  if (from && answer?.code === 'MALFORMED_MESSAGE' && answer.retryable === false) {
    refused = 'from refused where it enters (MALFORMED_MESSAGE), ';
    first.ws.send(JSON.stringify({ type: 'subscribe', ref: 'q', channel }));
    answer = await until(first, (f) => f.ref === 'q');
  }
  first.ws.terminate();
  if (answer?.type !== 'subscribed') return `subscribe answered ${String(answer?.code ?? 'nothing')}`;
  const missed = await publish(http, channel, 1);
  const resume = { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, lastEventIds: {} };
  const second = open(url, { type: 'hello', token, resume });
  const resumed = await until(second, (f) => f.type === 'welcome' || f.code === 'INTERNAL');
  const delivered = await until(second, (f) => f.type === 'event' && f.id === missed, 3000);
  second.ws.terminate();
  if (resumed?.type !== 'welcome') {
    const codes = second.frames.filter((f) => f.type === 'error').map((f) => f.code);
    return `resume answered ${codes.join(',') || 'nothing'}`;
  }
  const listed = ((resumed?.channels ?? []) as { channel: string }[]).some((c) => c.channel === channel);
  if (!listed) return `${refused}resumed without the channel`;
  return `${refused}resumed, missed event ${delivered ? 'delivered' : 'NOT delivered'}`;
}

export async function runSessionProbes(
  url: string,
  http: string,
  token: string,
): Promise<Map<string, string>> {
  const outcomes = new Map<string, string>();
  for (const name of OBJECT_KEYS) outcomes.set(`channel ${name}`, await probe(url, http, token, name));
  for (const from of ['0-99999999999999999999', '99999999999999999999-0', '18446744073709551616-0']) {
    outcomes.set(`from ${from}`, await probe(url, http, token, `probe:${from.length}${from[0]}`, from));
  }
  return outcomes;
}

export const probeHeld = (outcome: string) => outcome.endsWith('resumed, missed event delivered');
