/**
 * `uws-durable`: the durable floor (issue 13). The least a server can do and still
 * make every published event durable before acking it:
 *   bare uWebSockets.js + one ioredis connection with auto-pipelining; per publish,
 *   Tether's own append script (XADD + PUBLISH, src/channels/event-log.ts; without the
 *   process's last acked ID, so it skips the lost-history lookup Tether pays for), run by
 *   ioredis's defineCommand, and an
 *   ack to the sender; one subscriber connection whose messages go out by
 *   `app.publish` to the channel's topic. No auth, no validation beyond `JSON.parse`,
 *   no sessions, no limits, no resume.
 * It speaks the subset of Tether's protocol the bench's Tether client uses
 * (bench/load/clients/tether-client.ts): hello → welcome, subscribe → subscribed,
 * publish → ack, events as Tether's event frames (the same bytes on the wire).
 * Deliberately naive in one respect Tether may improve on: acks are sent from the
 * Redis reply callback one by one, not corked, so each costs its own write.
 * Run as a child process by bench/systems/peers.ts (PORT, REDIS_URL); prints READY.
 */

import uWS from 'uWebSockets.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { EventLog, epochNoticeOf, fromAnnouncement } from '../../src/channels/event-log.ts';
import { APPEND_SCRIPT } from '../../src/channels/log-scripts.ts';
import { eventFrameText } from '../../src/core/event-frames.ts';
import { redisKeys } from '../../src/redis/keys.ts';

const port = Number(process.env.PORT);
const redisUrl = process.env.REDIS_URL as string;
/** Tether's defaults (REDIS_PREFIX, CHANNEL_RETENTION), so the streams are alike. */
const keys = redisKeys('tether');
const RETENTION = 10_000;

const commands = new Redis(redisUrl, { enableAutoPipelining: true });
// The script as ioredis runs one (defineCommand), defined before the log so the log uses it:
// src/redis/lua-scripts.ts, Tether's own way of running it, is one of the improvements the
// floor is there to measure, and the yardstick must not move with Tether's internals.
commands.defineCommand('tetherAppend', { lua: APPEND_SCRIPT, numberOfKeys: 2 });
const feed = new Redis(redisUrl);
const events = new EventLog(commands, keys, RETENTION);

interface Conn {
  /** Stored with each appended event, like Tether's per-connection correlation ID. */
  correlationId: string;
  channels: string[];
  open: boolean;
}

/** Redis subscriptions by channel key: the SUBSCRIBE under way or done, and how many sockets want it. */
const subscriptions = new Map<string, { ready: Promise<unknown>; sockets: number }>();
const channelOfKey = new Map<string, string>();

/** Resolves once Redis confirms the subscription (also for the sockets that join while it is under way). */
function addSubscriber(channel: string): Promise<unknown> {
  const key = keys.channel(channel);
  const existing = subscriptions.get(key);
  if (existing) {
    existing.sockets++;
    return existing.ready;
  }
  channelOfKey.set(key, channel);
  const ready = feed.subscribe(key);
  subscriptions.set(key, { ready, sockets: 1 });
  return ready;
}

function removeSubscriber(channel: string): void {
  const key = keys.channel(channel);
  const subscription = subscriptions.get(key);
  if (!subscription || --subscription.sockets > 0) return;
  subscriptions.delete(key);
  channelOfKey.delete(key);
  void feed.unsubscribe(key).catch(() => {});
}

const app = uWS.App();

feed.on('message', (key: string, message: string) => {
  const channel = channelOfKey.get(key);
  // An epoch notice (a log read or renewed into a new epoch) is no event: the floor has no epochs.
  if (channel && !epochNoticeOf(message))
    app.publish(channel, eventFrameText(channel, fromAnnouncement(message)));
});

interface ClientFrame {
  type?: string;
  channel?: string;
  data?: unknown;
}

app.ws<Conn>('/*', {
  compression: uWS.DISABLED,
  maxPayloadLength: 64 * 1024,
  idleTimeout: 120,
  maxBackpressure: 4 * 1024 * 1024,
  upgrade: (res, req, context) => {
    res.upgrade<Conn>(
      { correlationId: randomUUID(), channels: [], open: true },
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  message: (ws, message) => {
    let frame: ClientFrame;
    try {
      frame = JSON.parse(Buffer.from(message).toString('utf8')) as ClientFrame;
    } catch {
      return;
    }
    const conn = ws.getUserData();
    const { channel } = frame;
    if (frame.type === 'publish' && channel) {
      events.append(channel, JSON.stringify(frame.data ?? null), conn.correlationId).then(
        (event) => {
          if (conn.open) ws.send(JSON.stringify({ type: 'ack', channel, id: event.id }));
        },
        (error: Error) => process.stderr.write(`uws-durable: append failed: ${error.message}\n`),
      );
    } else if (frame.type === 'subscribe' && channel) {
      ws.subscribe(channel);
      conn.channels.push(channel);
      // Answered once Redis confirms the subscription: from then on no event is missed.
      addSubscriber(channel).then(
        () => {
          if (conn.open) ws.send(JSON.stringify({ type: 'subscribed', channel }));
        },
        (error: Error) => process.stderr.write(`uws-durable: subscribe failed: ${error.message}\n`),
      );
    } else if (frame.type === 'hello') {
      ws.send('{"type":"welcome"}');
    }
  },
  close: (ws) => {
    const conn = ws.getUserData();
    conn.open = false;
    for (const channel of conn.channels) removeSubscriber(channel);
  },
});

app.listen('127.0.0.1', port, (socket) => {
  if (!socket) {
    process.stderr.write(`uws-durable: cannot listen on ${port}\n`);
    process.exit(1);
  }
  process.stdout.write('READY\n');
});
