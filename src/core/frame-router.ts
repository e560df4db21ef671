/**
 * Inbound frames: size and type checks, decode with the compiled schema, then
 * route by type. Bad input gets a coded error on this connection only. Where the
 * hello stands (waiting, being handled, done) is read from the connection's actor.
 */
import { isUtf8 } from 'node:buffer';
import { type DecodedFrame, decodeFrame, refOf } from '../protocol/frame-codec.ts';
import type { ClientFrame, PublishFrame } from '../shared/frames.ts';
import { submitAction } from './actions.ts';
import type { Connection } from './connection.ts';
import { helloPhase } from './connection-actor.ts';
import type { GatewayCore } from './gateway-core.ts';
import { sendHistory } from './history.ts';
import { presenceRequest } from './presence-request.ts';
import type { Principal } from './principal.ts';
import { publishEvent } from './publish.ts';
import { refreshToken } from './refresh.ts';
import { subscribe, unsubscribe } from './subscriptions.ts';
import { TetherError } from './tether-error.ts';
import { traffic } from './traffic.ts';

/**
 * Frames a client may pipeline behind its hello before welcome. One more is refused on its
 * own (WELCOME_PENDING): a client queued for admission (up to 30 s) that goes on publishing
 * keeps its connection and learns which frames to send again.
 */
const MAX_HELD_FRAMES = 64;

export function onMessage(
  core: GatewayCore,
  conn: Connection,
  message: ArrayBuffer,
  isBinary: boolean,
  /** The frame's size as the client sent it: the SSE edge adds `Last-Event-ID`'s positions to a hello. */
  sentBytes = message.byteLength,
): void {
  traffic.framesIn++;
  if (!conn.takesFrames) return;
  const limit = core.config.maxMessageBytes;
  if (sentBytes > limit) {
    conn.fail('MESSAGE_TOO_LARGE', { detail: `${sentBytes} > ${limit} bytes` });
    return;
  }
  if (isBinary) {
    conn.fail('BINARY_NOT_SUPPORTED');
    return;
  }
  // An edge that passes text frames on unchecked (RFC 6455 §8.1 asks for valid UTF-8) is answered here.
  if (!isUtf8(message)) {
    conn.fail('INVALID_UTF8');
    return;
  }
  const text = Buffer.from(message).toString('utf8');
  if (!conn.takeMessageToken()) {
    conn.refuseForRate(refOf(text));
    return;
  }
  if (helloPhase(conn.actor) === 'busy') {
    if (conn.held.length < MAX_HELD_FRAMES) conn.held.push(text);
    else conn.fail('WELCOME_PENDING', { ref: refOf(text), detail: `${MAX_HELD_FRAMES} frames already wait` });
    return;
  }
  handleText(core, conn, text);
}

/**
 * A WebSocket ping or pong from the client (RFC 6455 control frames): the edge has answered a
 * ping already, but it is a frame the client sent, and takes its token of the message rate as
 * any frame does — else a flood of pings is a flood of pongs, answered without end. Over the
 * rate it is refused (counted, not answered: it has no ref to send again), and a flood of them
 * is closed as a flood of frames is (message-rate.ts).
 */
export function onControlFrame(conn: Connection, kind: 'ping' | 'pong'): void {
  if (!conn.takesFrames) return;
  if (!conn.takeMessageToken()) conn.refuseControlForRate(kind);
}

/** Welcome is out: handle the frames that arrived behind hello, in the order sent. */
export function runHeldFrames(core: GatewayCore, conn: Connection): void {
  const held = conn.held.splice(0);
  for (const text of held) if (conn.takesFrames) handleText(core, conn, text);
}

function handleText(core: GatewayCore, conn: Connection, text: string): void {
  let decoded: DecodedFrame;
  try {
    decoded = decodeFrame(text);
  } catch (error) {
    if (!(error instanceof TetherError)) throw error;
    conn.fail(error.code, { ref: refOf(text), detail: error.detail });
    return;
  }
  const { frame } = decoded;
  if (helloPhase(conn.actor) === 'waiting') {
    if (frame.type !== 'hello') {
      conn.fail('HELLO_REQUIRED', { detail: `got ${frame.type}` });
      return;
    }
    conn.hello = frame;
    conn.actor.send({ type: 'hello.received' });
    return;
  }
  route(core, conn, frame, decoded.dataJson);
}

function route(core: GatewayCore, conn: Connection, frame: ClientFrame, dataJson?: string): void {
  switch (frame.type) {
    case 'hello':
      conn.fail('ALREADY_AUTHENTICATED');
      return;
    case 'subscribe':
      void subscribe(core, conn, frame);
      return;
    case 'unsubscribe':
      unsubscribe(core, conn, frame);
      return;
    case 'publish':
      void publish(core, conn, frame, dataJson ?? 'null');
      return;
    case 'action':
      void submitAction(core, conn, frame);
      return;
    case 'ping':
      conn.send({ type: 'pong', ts: frame.ts, serverTime: Date.now() });
      return;
    case 'bye':
      conn.endByClient();
      return;
    case 'refresh':
      void refreshToken(core, conn, frame);
      return;
    case 'history':
      void sendHistory(core, conn, frame);
      return;
    case 'presence':
      void presenceRequest(core, conn, frame);
      return;
  }
}

/** Until hello is done a connection may publish nowhere (frames are held until then anyway). */
const NOBODY: Principal = { userId: '', channels: [], publish: [], actions: [], tier: '' };

async function publish(
  core: GatewayCore,
  conn: Connection,
  frame: PublishFrame,
  dataJson: string,
): Promise<void> {
  const { channel, ref } = frame;
  const result = await publishEvent(core, {
    channel,
    dataJson,
    correlationId: conn.correlationId,
    publisher: conn.principal ?? NOBODY,
    idempotencyKey: frame.idempotencyKey,
  });
  // Channel names and IDs need no escaping (their patterns); only the client's ref might.
  if ('id' in result)
    conn.sendSoon(
      `{"type":"ack",${ref === undefined ? '' : `"ref":${JSON.stringify(ref)},`}"channel":"${channel}","id":"${result.id}"${result.duplicate ? ',"duplicate":true' : ''}${result.ephemeral ? ',"ephemeral":true' : ''}}`,
    );
  else conn.fail(result.error, { ref, detail: result.detail });
}
