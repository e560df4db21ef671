/**
 * `node --import tsx bench/sse-transport.ts [--clients N] [--events K] [--edge uws|ws] [--compression off,shared,dedicated] [--threshold BYTES]`
 *
 * The SSE fallback as a system (issue 17), beside WebSocket on the same gateway: idle memory
 * per connection, and a fan-out burst (one channel, N subscribers, K events published through
 * `POST /publish`): deliveries per second and the gateway's CPU per delivery. The gateway is
 * the real one (`systems/tether.ts`: its own process and redis-server); the clients are the
 * SDK's transports in this process (the `ws` package; the SDK's SseSocket over fetch). Bounded:
 * every wait has a deadline. With `--compression`, one gateway per WS_COMPRESSION mode: the SDK's
 * clients ask for it as they do by default (`ws` offers permessage-deflate, fetch accepts gzip),
 * and one probe per transport counts the bytes on the wire per event, beside the text they carry.
 * Prints a markdown table and writes bench/results/sse-transport.json.
 */
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { SseSocket } from '../packages/client/src/sse-socket.ts';
import type { WebSocketLike } from '../packages/client/src/websocket-like.ts';
import { RawSseStream } from '../test/support/raw-sse-stream.ts';
import { CpuMeter, rssBytes } from './lib/proc-stats.ts';
import { mintToken } from './load/clients/tokens.ts';
import { BENCH_PUBLISH_KEY, type RunningTether, startTether } from './systems/tether.ts';

type Transport = 'websocket' | 'sse';

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? (args[at + 1] ?? fallback) : fallback;
};
const CLIENTS = Number(option('clients', '500'));
const EVENTS = Number(option('events', '100'));
const EDGE = option('edge', 'uws');
const COMPRESSION = option('compression', 'off').split(',');
/** WS_COMPRESSION_THRESHOLD_BYTES: its default (256) leaves a short chat event uncompressed. */
const THRESHOLD = option('threshold', '256');
const CHANNEL = 'bench:sse';
const DEADLINE_MS = 60_000;

/** One subscriber: hello, subscribe, then count the channel's events. */
class Subscriber {
  events = 0;
  private ready!: () => void;
  readonly subscribed = new Promise<void>((resolve) => {
    this.ready = resolve;
  });

  constructor(
    readonly socket: WebSocketLike,
    token: string,
  ) {
    socket.onopen = () => socket.send(JSON.stringify({ type: 'hello', token }));
    socket.onmessage = ({ data }) => {
      const text = String(data);
      if (text.startsWith('{"type":"event"')) this.events++;
      else if (text.startsWith('{"type":"welcome"'))
        socket.send(JSON.stringify({ type: 'subscribe', channel: CHANNEL, ref: 's' }));
      else if (text.startsWith('{"type":"subscribed"')) this.ready();
    };
    socket.onerror = () => {};
  }
}

function open(system: RunningTether, transport: Transport): WebSocketLike {
  return transport === 'sse'
    ? new SseSocket(`${system.httpUrl}/sse`)
    : (new WebSocket(system.url) as unknown as WebSocketLike);
}

async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A chat message as an application would publish it. */
const chat = (n: number) => ({
  user: `user-${n % 20}`,
  room: 'lobby',
  text: `message ${n}: a chat-like message of some length`,
  sentAt: 1_733_000_000_000 + n,
});

/** Bytes on the wire and the text they carry, counted by one more subscriber while the burst runs. */
interface WireProbe {
  events(): number;
  /** [bytes on the wire, bytes of text] so far. */
  bytes(): [number, number];
  close(): void;
}

async function wsProbe(system: RunningTether, token: string): Promise<WireProbe> {
  const ws = new WebSocket(system.url); // offers permessage-deflate, as the SDK's Node clients do
  let events = 0;
  let text = 0;
  const subscriber = new Subscriber(ws as unknown as WebSocketLike, token);
  const onText = ws.onmessage as (event: { data: unknown }) => void;
  ws.onmessage = (event) => {
    text += Buffer.byteLength(String(event.data));
    if (String(event.data).startsWith('{"type":"event"')) events++;
    onText(event);
  };
  await subscriber.subscribed;
  const socket = (ws as unknown as { _socket: Socket })._socket;
  const [wireAtStart, textAtStart] = [socket.bytesRead, text];
  return {
    events: () => events,
    bytes: () => [socket.bytesRead - wireAtStart, text - textAtStart],
    close: () => ws.close(),
  };
}

async function sseProbe(system: RunningTether, token: string): Promise<WireProbe> {
  const stream = await RawSseStream.open(`${system.httpUrl}/sse`, { 'accept-encoding': 'gzip' });
  await stream.next((m) => m.event === 'open');
  await stream.post([{ type: 'hello', token }]);
  await stream.frame('welcome');
  await stream.post([{ type: 'subscribe', channel: CHANNEL, ref: 'probe' }]);
  await stream.frame('subscribed');
  const [wireAtStart, textAtStart] = [stream.wireBytes, stream.textBytes];
  return {
    events: () => stream.messages.filter((m) => m.data.startsWith('{"type":"event"')).length,
    bytes: () => [stream.wireBytes - wireAtStart, stream.textBytes - textAtStart],
    close: () => stream.close(),
  };
}

async function publish(system: RunningTether, n: number): Promise<void> {
  const response = await fetch(`${system.httpUrl}/publish`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BENCH_PUBLISH_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: CHANNEL, data: chat(n) }),
  });
  if (!response.ok) throw new Error(`publish: HTTP ${response.status}`);
}

async function measure(system: RunningTether, transport: Transport) {
  const pid = system.serverPids()[0] as number;
  await system.collectGarbage();
  const rssBefore = rssBytes(pid);
  const subscribers: Subscriber[] = [];
  for (let i = 0; i < CLIENTS; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, CLIENTS - i) }, async (_, j) => {
        const token = await mintToken(system.jwtSecret as string, `${transport}-${i + j}`);
        return new Subscriber(open(system, transport), token);
      }),
    );
    subscribers.push(...batch);
    await Promise.all(batch.map((s) => s.subscribed));
  }
  await system.collectGarbage();
  const idleBytesPerConn = (rssBytes(pid) - rssBefore) / CLIENTS;
  const probeToken = await mintToken(system.jwtSecret as string, `${transport}-probe`);
  const probe = await (transport === 'sse' ? sseProbe : wsProbe)(system, probeToken);

  const meter = new CpuMeter([pid]);
  const started = performance.now();
  // 8 publishes in flight: the burst is over before the deliveries are, so they set the pace.
  for (let n = 0; n < EVENTS; n += 8)
    await Promise.all(Array.from({ length: Math.min(8, EVENTS - n) }, (_, i) => publish(system, n + i)));
  await until(
    () => subscribers.every((s) => s.events >= EVENTS),
    `${EVENTS} events at ${CLIENTS} subscribers`,
  );
  const { totalUs } = meter.read();
  const seconds = (performance.now() - started) / 1000;
  const deliveries = CLIENTS * EVENTS;
  await until(() => probe.events() >= EVENTS, `${EVENTS} events at the probe`);
  const [wire, text] = probe.bytes();
  probe.close();
  for (const s of subscribers) s.socket.close();
  await new Promise((r) => setTimeout(r, 1000));
  return {
    transport,
    idle_bytes_per_conn: Math.round(idleBytesPerConn),
    deliveries_per_s: Math.round(deliveries / seconds),
    cpu_us_per_delivery: Number((totalUs / deliveries).toFixed(2)),
    wire_bytes_per_event: Math.round(wire / EVENTS),
    text_bytes_per_event: Math.round(text / EVENTS),
  };
}

async function main(): Promise<void> {
  const rows = [];
  for (const compression of COMPRESSION) {
    const env = { EDGE, WS_COMPRESSION: compression, WS_COMPRESSION_THRESHOLD_BYTES: THRESHOLD };
    const system = await startTether({ env });
    try {
      for (const transport of ['websocket', 'sse'] as const)
        rows.push({ compression, ...(await measure(system, transport)) });
    } finally {
      await system.stop();
    }
  }
  const table = [
    `SSE vs WebSocket, edge ${EDGE}, ${CLIENTS} subscribers, ${EVENTS} events (fan-out burst), threshold ${THRESHOLD} B`,
    '',
    '| WS_COMPRESSION | transport | idle bytes/conn | deliveries/s | gateway CPU µs/delivery | wire bytes/event | text bytes/event |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${r.compression} | ${r.transport} | ${r.idle_bytes_per_conn} | ${r.deliveries_per_s} | ${r.cpu_us_per_delivery} | ${r.wire_bytes_per_event} | ${r.text_bytes_per_event} |`,
    ),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  writeFileSync(
    new URL('./results/sse-transport.json', import.meta.url),
    `${JSON.stringify({ at: new Date().toISOString(), edge: EDGE, clients: CLIENTS, events: EVENTS, rows }, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
