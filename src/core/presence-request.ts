/**
 * The `presence` frame: one page of who is subscribed to a channel whose namespace
 * tracks presence, for a connection whose token allows the channel (or that the
 * backend subscribed to it). Answered with `present`, or a coded error.
 */
import { PRESENCE_PAGE_DEFAULT, type PresenceFrame } from '../shared/frames.ts';
import { connectionMayRead } from './channel-access.ts';
import type { Connection } from './connection.ts';
import type { GatewayCore } from './gateway-core.ts';

export async function presenceRequest(
  core: GatewayCore,
  conn: Connection,
  frame: PresenceFrame,
): Promise<void> {
  const { channel, ref } = frame;
  if (!connectionMayRead(conn, channel)) {
    conn.fail('FORBIDDEN_CHANNEL', { ref, detail: channel });
    return;
  }
  if (!core.policy(channel).presence) {
    conn.fail('PRESENCE_NOT_ENABLED', { ref, detail: channel });
    return;
  }
  try {
    const page = await core.ports.presence.page(channel, frame.limit ?? PRESENCE_PAGE_DEFAULT, frame.cursor);
    conn.send({ type: 'present', ref, channel, ...page });
  } catch (error) {
    conn.logger.warn({ err: error, channel }, 'presence: store unavailable');
    conn.fail('STORE_UNAVAILABLE', { ref });
  }
}
