/**
 * One fuzzing connection after another: hello (sometimes itself mutated, sometimes a
 * resume with odd `lastEventIds`), then batches of mutated frames, each batch closed by
 * a `ping` whose `pong` bounds how much is in flight. Counts what came back.
 */
import WebSocket from 'ws';
import type { FrameFuzzer, FuzzFrame } from './fuzz-frames.ts';

const BATCH = 100;
const WAIT_MS = 10_000;

export interface FuzzTally {
  sent: number;
  connections: number;
  errorCodes: Map<string, number>;
  closeCodes: Map<string, number>;
  /** Frame kinds that were answered as an outage (STORE_UNAVAILABLE or INTERNAL). */
  outageAnswers: Map<string, number>;
  /** Closes right after a frame of this kind, with no error frame before them. */
  silentCloses: Map<string, number>;
  /** Sessions welcomed during the run, to be resumed once at the end. */
  sessions: FuzzSession[];
}

export interface FuzzSession {
  sessionId: string;
  resumeToken: string;
  /** Its channels when the connection ended, as the gateway confirmed them; undefined when unsure. */
  channels?: string[];
}

/** Kinds that may end the connection: sent last in their batch, so a close can be put down to them. */
const CLOSERS = new Set(['invalid UTF-8', 'oversize', 'bye']);

export const newTally = (): FuzzTally => ({
  sent: 0,
  connections: 0,
  errorCodes: new Map(),
  closeCodes: new Map(),
  outageAnswers: new Map(),
  silentCloses: new Map(),
  sessions: [],
});

export const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function send(ws: WebSocket, frame: FuzzFrame): void {
  const { payload } = frame;
  if ('text' in payload) ws.send(payload.text);
  else ws.send(payload.bytes, { binary: payload.binary });
}

/** One connection's life; returns when it closed or its share of frames is sent. */
async function fuzzConnection(
  url: string,
  token: string,
  fuzzer: FrameFuzzer,
  tally: FuzzTally,
  budget: () => boolean,
) {
  tally.connections++;
  const ws = new WebSocket(url, { maxPayload: 64 * 1024 * 1024 });
  const kinds = new Map<string, string>();
  let lastKind = 'hello';
  let lastWasError = false;
  let welcomed = false;
  let ending = false;
  let session: FuzzSession | undefined;
  const channels = new Set<string>();
  let pong: ((ts: number) => void) | undefined;
  const closed = new Promise<void>((resolve) => {
    ws.on('close', (code) => {
      if (ending) return resolve();
      bump(tally.closeCodes, String(code));
      if (!lastWasError && code !== 1000) bump(tally.silentCloses, `${lastKind} → ${code}`);
      resolve();
    });
    ws.on('error', () => {});
  });
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as Record<string, unknown>;
    lastWasError = frame.type === 'error';
    if (frame.type === 'welcome') {
      welcomed = true;
      session = { sessionId: String(frame.sessionId), resumeToken: String(frame.resumeToken) };
      for (const entry of frame.channels as { channel: string }[]) channels.add(entry.channel);
      tally.sessions.push(session);
      if (tally.sessions.length > 300) tally.sessions.shift(); // the newest: older ones may have expired
    } else if (frame.type === 'subscribed') channels.add(String(frame.channel));
    else if (frame.type === 'unsubscribed') channels.delete(String(frame.channel));
    else if (frame.type === 'error') {
      const code = String(frame.code);
      bump(tally.errorCodes, code);
      if (code === 'STORE_UNAVAILABLE' || code === 'INTERNAL') {
        bump(
          tally.outageAnswers,
          kinds.get(String(frame.ref)) ?? (welcomed ? 'frame without ref' : lastKind),
        );
      }
    } else if (frame.type === 'pong' && typeof frame.ts === 'number') pong?.(frame.ts);
  });
  const opened = await Promise.race([
    new Promise<boolean>((resolve) => ws.once('open', () => resolve(true))),
    closed.then(() => false),
  ]);
  if (!opened) return;
  const roll = fuzzer.random();
  if (roll < 0.1) {
    // A mutated first frame: HELLO_REQUIRED, MALFORMED_MESSAGE, …; no use waiting for welcome long.
    const first = fuzzer.next();
    lastKind = `first frame: ${first.kind}`;
    send(ws, first);
    tally.sent++;
  } else {
    const resumable =
      roll < 0.2 ? fuzzer.pick(tally.sessions.length ? tally.sessions : [undefined]) : undefined;
    const hello = roll < 0.2 ? fuzzer.resumeHello(token, resumable) : { type: 'hello', token };
    lastKind = roll < 0.2 ? 'resume hello' : 'hello';
    ws.send(JSON.stringify(hello));
  }
  const deadline = Date.now() + (roll < 0.1 ? 1000 : WAIT_MS);
  while (!welcomed && ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  let marker = 0;
  let batches = 1 + Math.floor(fuzzer.random() * 10); // then end it ourselves, its state known
  let settled = false; // every frame sent so far has been answered (the last batch's pong came)
  while (welcomed && ws.readyState === WebSocket.OPEN && budget() && batches-- > 0) {
    kinds.clear();
    settled = false;
    for (let i = 0; i < BATCH && ws.readyState === WebSocket.OPEN && budget(); i++) {
      const frame = fuzzer.next();
      if (frame.ref) kinds.set(frame.ref, frame.kind);
      lastKind = frame.kind;
      send(ws, frame);
      tally.sent++;
      if (CLOSERS.has(frame.kind)) break;
    }
    const expected = --marker; // negative: never a ts the fuzzer itself sends
    const answered = new Promise<void>((resolve) => {
      pong = (ts) => {
        if (ts !== expected) return;
        settled = true;
        resolve();
      };
    });
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'ping', ts: expected }));
    await Promise.race([answered, closed, new Promise((r) => setTimeout(r, WAIT_MS))]);
  }
  if (session && settled && ws.readyState === WebSocket.OPEN) session.channels = [...channels];
  ending = ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING;
  ws.terminate();
  await closed;
}

/** Connections one after another until the budget is spent. */
export async function fuzzWorker(
  url: string,
  token: string,
  fuzzer: FrameFuzzer,
  tally: FuzzTally,
  budget: () => boolean,
) {
  while (budget()) await fuzzConnection(url, token, fuzzer, tally, budget);
}
