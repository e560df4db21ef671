/**
 * History pages of a channel's log, for a socket's `history` frame and a backend's
 * `GET /channels/:channel/history` alike: the same query, the same page, events as
 * `event` frames (`reply` frames on an inbox) with their data spliced in byte for byte.
 */
import { DEFAULT_HISTORY_LIMIT, type HistoryFrame } from '../shared/frames.ts';
import { connectionMayRead } from './channel-access.ts';
import type { Connection } from './connection.ts';
import { eventFrameText } from './event-frames.ts';
import type { GatewayCore } from './gateway-core.ts';
import type { HistoryPage, HistoryQuery } from './ports/event-store.ts';

/** A page stops adding events once their data passes this (over HTTP; sockets: see socketPageBytes). */
export const HISTORY_PAGE_BYTES = 1_048_576;

export interface HistoryRequest {
  since?: string;
  epoch?: string;
  limit?: number;
  reverse?: boolean;
}

/** The store's query for a request: DEFAULT_HISTORY_LIMIT events unless it says otherwise. */
export function historyQuery(request: HistoryRequest, maxBytes: number): HistoryQuery {
  return {
    since: request.since,
    epoch: request.epoch,
    limit: request.limit ?? DEFAULT_HISTORY_LIMIT,
    reverse: request.reverse ?? false,
    maxBytes,
  };
}

/**
 * A page as JSON text: `fields` first (the frame's type, ref, channel), then epoch, top,
 * recovered, gap (when not whole) and the events — each one's frame as fan-out and replay build it.
 */
export function historyPageText(channel: string, page: HistoryPage, fields: Record<string, unknown>): string {
  const head = JSON.stringify({
    ...fields,
    epoch: page.epoch,
    top: page.top,
    recovered: page.recovered,
    ...(page.gap ? { gap: page.gap } : {}),
  });
  const events = page.events.map((event) => eventFrameText(channel, event)).join(',');
  return `${head.slice(0, -1)},"events":[${events}]}`;
}

/**
 * On a socket a page must not fill the outbound buffer on its own (past
 * MAX_BACKPRESSURE_BYTES the socket is closed as a slow consumer): a quarter of it.
 */
function socketPageBytes(core: GatewayCore): number {
  return Math.min(HISTORY_PAGE_BYTES, Math.floor(core.config.maxBackpressureBytes / 4));
}

/** Per connection, the history answer last queued: its requests are answered one at a time. */
const answering = new WeakMap<Connection, Promise<void>>();

/**
 * A `history` frame, answered after the connection's earlier ones, each once the socket
 * has drained below its writable mark: a page is at most a quarter of the outbound limit,
 * but forty asked at once and answered as Redis returns them would pass it, and the
 * client would be cut as a slow consumer for reading its own answers.
 */
export function sendHistory(core: GatewayCore, conn: Connection, frame: HistoryFrame): Promise<void> {
  const previous = answering.get(conn)?.catch(() => undefined) ?? Promise.resolve();
  const turn = previous.then(async () => {
    await conn.whenWritable();
    if (conn.isOpen) await answerHistory(core, conn, frame);
  });
  answering.set(conn, turn);
  return turn;
}

/** The channel must be readable by the token and replayable by its namespace. */
async function answerHistory(core: GatewayCore, conn: Connection, frame: HistoryFrame): Promise<void> {
  const { channel, ref } = frame;
  if (!connectionMayRead(conn, channel)) {
    conn.fail('FORBIDDEN_CHANNEL', { ref, detail: channel });
    return;
  }
  if (!core.policy(channel).replay) {
    conn.fail('REPLAY_DISABLED', { ref, detail: channel });
    return;
  }
  if (!core.ports.readiness.isReady()) {
    conn.fail('STORE_UNAVAILABLE', { ref });
    return;
  }
  let page: HistoryPage;
  try {
    page = await core.ports.events.history(channel, historyQuery(frame, socketPageBytes(core)));
  } catch (error) {
    conn.logger.warn({ err: error, channel }, 'history: read failed');
    conn.fail('STORE_UNAVAILABLE', { ref });
    return;
  }
  conn.send(historyPageText(channel, page, { type: 'history', ref, channel }));
}
