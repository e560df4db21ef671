/**
 * `uws-raw`: bare uWebSockets.js — echo and native topic publish, nothing else.
 * The physical limit of this machine for a WebSocket server in Node; Tether runs
 * on the same library, so the gap between the two is what Tether itself costs.
 * Run as a child process by bench/systems/peers.ts; prints READY when listening.
 */
import uWS from 'uWebSockets.js';
import { parsePublish, RAW, RAW_CODE } from './raw-protocol.ts';

const port = Number(process.env.PORT);
const app = uWS.App();

/**
 * Publishes are queued and made together after the read, outside uWS's callback:
 * published from inside a `message` handler, each delivery cost ~8× more CPU here
 * (2.9 vs 0.37 µs per delivery, 1K subscribers, bursts of 100) — outside one, uWS
 * coalesces a subscriber's messages into one write. The limit should be the best
 * uWS can do; Tether publishes from its Redis read callback, outside uWS too.
 */
const pending: [channel: string, frame: string][] = [];
const flushPublishes = () => {
  for (const [channel, frame] of pending.splice(0)) app.publish(channel, frame);
};

app.ws('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024,
  idleTimeout: 120,
  maxBackpressure: 4 * 1024 * 1024,
  message: (ws, message, isBinary) => {
    const kind = new Uint8Array(message)[0];
    if (kind === RAW_CODE.echo) {
      ws.send(message, isBinary);
    } else if (kind === RAW_CODE.subscribe) {
      const channel = Buffer.from(message).toString('utf8', 1);
      ws.subscribe(channel);
      ws.send(RAW.subscribed + channel);
    } else if (kind === RAW_CODE.publish) {
      const { channel, frame } = parsePublish(Buffer.from(message).toString('utf8'));
      pending.push([channel, frame]);
      if (pending.length === 1) setImmediate(flushPublishes);
    }
  },
});

app.listen('127.0.0.1', port, (socket) => {
  if (!socket) {
    process.stderr.write(`uws-raw: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write('READY\n');
});
