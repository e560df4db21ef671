/**
 * One full session against a running gateway, as a client and a backend would
 * have it: hello, subscribe, events published over HTTP arrive; the connection
 * drops; more events are published; a resume hello brings exactly the missed
 * ones, in order. Exits 0 when all of that held, 1 otherwise (with why).
 *
 *   node --import tsx scripts/session-smoke.ts <http://host:port> <AUTH_JWT_SECRET> <publish API key>
 *
 * Used by scripts/debian13-uws-smoke.sh (the native edge on Node 24 in a Debian 13
 * root); works against any gateway started with that secret and key.
 */
import { SignJWT } from 'jose';
import WebSocket from 'ws';

const [base, secret, apiKey] = process.argv.slice(2);
if (!base || !secret || !apiKey) {
  process.stderr.write('usage: session-smoke.ts <http://host:port> <AUTH_JWT_SECRET> <publish API key>\n');
  process.exit(2);
}
const wsUrl = `${base.replace(/^http/, 'ws')}/ws`;
const channel = `smoke:${Date.now()}`;
type Frame = Record<string, unknown> & { type: string };

/** A socket whose frames queue up until read; `next` waits for one that matches. */
async function open(): Promise<{ ws: WebSocket; next(match: (f: Frame) => boolean): Promise<Frame> }> {
  const ws = new WebSocket(wsUrl);
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame);
    wake?.();
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const next = async (match: (f: Frame) => boolean) => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const i = frames.findIndex(match);
      if (i >= 0) return frames.splice(i, 1)[0] as Frame;
      if (Date.now() > deadline)
        throw new Error(`no matching frame within 10 s; got ${JSON.stringify(frames)}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  return { ws, next };
}

async function publish(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${base}/publish`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel, data: { i } }),
    });
    if (res.status !== 200) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
    ids.push(((await res.json()) as { id: string }).id);
  }
  return ids;
}

async function events(next: (m: (f: Frame) => boolean) => Promise<Frame>, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(String((await next((f) => f.type === 'event')).id));
  return ids;
}

function same(what: string, got: string[], expected: string[]): void {
  if (JSON.stringify(got) !== JSON.stringify(expected))
    throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
}

async function main(): Promise<void> {
  const token = await new SignJWT({ channels: ['*'], publish: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('smoke')
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
  const first = await open();
  first.ws.send(JSON.stringify({ type: 'hello', token }));
  const welcome = await first.next((f) => f.type === 'welcome');
  first.ws.send(JSON.stringify({ type: 'subscribe', channel, ref: 's1' }));
  await first.next((f) => f.type === 'subscribed');
  const before = await publish(3);
  same('live events', await events(first.next, 3), before);

  first.ws.terminate(); // the network drops: no close frame
  await new Promise((r) => setTimeout(r, 200));
  const missed = await publish(5);

  const second = await open();
  const resume = {
    sessionId: welcome.sessionId,
    resumeToken: welcome.resumeToken,
    lastEventIds: { [channel]: before.at(-1) },
  };
  second.ws.send(JSON.stringify({ type: 'hello', token, resume }));
  const resumed = await second.next((f) => f.type === 'welcome');
  if (resumed.resumed !== true || resumed.recovered !== true)
    throw new Error(`resume refused: ${JSON.stringify(resumed)}`);
  same('replayed events', await events(second.next, 5), missed);
  const after = await publish(1);
  same('live after resume', await events(second.next, 1), after);
  second.ws.close(1000);
  process.stdout.write(
    `session smoke: hello, subscribe, 3 live events, drop, 5 published while away replayed once in order, live again (session ${String(welcome.sessionId)})\n`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`session smoke FAILED: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
