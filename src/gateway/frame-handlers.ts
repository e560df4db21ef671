/**
 * Inbound frames: size and type checks, decode with the compiled schema, then
 * route by type. Bad input gets a coded error on this connection only.
 */
import { channelAllowed } from '../auth/principal.ts';
import { TetherError } from '../errors/tether-error.ts';
import { traceAction } from '../observability/connection-events.ts';
import { hot } from '../observability/metrics.ts';
import { decodeFrame, refOf } from '../protocol/frame-codec.ts';
import { jitteredAtLeast } from '../shared/backoff.ts';
import { type ClientFrame, INBOX_PREFIX, type PublishFrame } from '../shared/frames.ts';
import type { Connection } from './connection.ts';
import { handleHello } from './handshake.ts';
import { subscribe, unsubscribe } from './subscriptions.ts';

/** Frames a client may pipeline behind its hello before welcome. */
const MAX_HELD_FRAMES = 64;

export function onMessage(conn: Connection, message: ArrayBuffer, isBinary: boolean): void {
  hot.framesIn++;
  if (message.byteLength > conn.ctx.config.maxMessageBytes) {
    conn.fail('MESSAGE_TOO_LARGE', {
      detail: `${message.byteLength} > ${conn.ctx.config.maxMessageBytes} bytes`,
    });
    return;
  }
  if (isBinary) {
    conn.fail('BINARY_NOT_SUPPORTED');
    return;
  }
  const text = Buffer.from(message).toString('utf8');
  if (!conn.takeMessageToken()) {
    // The ref tells the client which frame to send again; the hint, when the bucket has a token for it.
    conn.fail('MESSAGE_RATE_LIMITED', {
      ref: refOf(text),
      retryAfterMs: jitteredAtLeast(conn.msUntilMessageToken()),
    });
    return;
  }
  if (conn.hello === 'busy') {
    if (conn.held.length >= MAX_HELD_FRAMES)
      conn.fail('HELLO_REQUIRED', { detail: 'too many frames before welcome' });
    else conn.held.push(text);
    return;
  }
  handleText(conn, text);
}

function handleText(conn: Connection, text: string): void {
  let frame: ClientFrame;
  try {
    frame = decodeFrame(text);
  } catch (error) {
    if (!(error instanceof TetherError)) throw error;
    conn.fail(error.code, { ref: refOf(text), detail: error.detail });
    return;
  }
  if (conn.hello === 'waiting') {
    if (frame.type !== 'hello') {
      conn.fail('HELLO_REQUIRED', { detail: `got ${frame.type}` });
      return;
    }
    void runHello(conn, frame);
    return;
  }
  route(conn, frame);
}

async function runHello(conn: Connection, frame: ClientFrame & { type: 'hello' }): Promise<void> {
  let welcomed: Awaited<ReturnType<typeof handleHello>>;
  try {
    welcomed = await handleHello(conn, frame);
  } catch (error) {
    conn.logger.error({ err: error }, 'hello failed');
    conn.close(error instanceof TetherError ? error.code : 'INTERNAL');
    return;
  }
  // Frames sent behind hello come before anything sent after welcome, and do not
  // wait for the replay of a resumed session.
  const held = conn.held.splice(0);
  for (const text of held) if (conn.isOpen) handleText(conn, text);
  await welcomed?.replay;
}

function route(conn: Connection, frame: ClientFrame): void {
  switch (frame.type) {
    case 'hello':
      conn.fail('ALREADY_AUTHENTICATED');
      return;
    case 'subscribe':
      void subscribe(conn, frame);
      return;
    case 'unsubscribe':
      unsubscribe(conn, frame);
      return;
    case 'publish':
      void publish(conn, frame);
      return;
    case 'action':
      void traceAction(conn, frame, () => conn.ctx.actions.submit(conn, frame));
      return;
    case 'ping':
      conn.send({ type: 'pong', ts: frame.ts, serverTime: Date.now() });
      return;
    case 'bye':
      conn.endByClient();
      return;
  }
}

async function publish(conn: Connection, frame: PublishFrame): Promise<void> {
  const { channel, ref } = frame;
  if (channel.startsWith(INBOX_PREFIX) || !channelAllowed(conn.principal?.publish ?? [], channel)) {
    conn.fail('PUBLISH_FORBIDDEN', { ref, detail: channel });
    return;
  }
  const { redis, events } = conn.ctx;
  if (redis.status !== 'ready') {
    conn.fail('STORE_UNAVAILABLE', { ref });
    return;
  }
  try {
    const event = await events.append(channel, JSON.stringify(frame.data ?? null), conn.correlationId);
    conn.send({ type: 'ack', ref, channel, id: event.id });
  } catch (error) {
    conn.logger.warn({ err: error, channel }, 'publish: append failed');
    conn.fail('STORE_UNAVAILABLE', { ref });
  }
}
