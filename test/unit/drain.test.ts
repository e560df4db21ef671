/**
 * src/core/drain.ts: every socket is told SERVICE_RESTART once, in batches that
 * yield to the event loop between them; sockets whose close completes later (the
 * ws edge waits for the peer's close frame) are waited for, not closed again;
 * the pool hears `pool.drained` only when none is left.
 */
import { describe, expect, it } from 'vitest';
import { drainConnections } from '../../src/core/drain.ts';
import type { GatewayCore } from '../../src/core/gateway-core.ts';

interface FakeConn {
  id: string;
  closes: { code: string; retryAfterMs?: number }[];
  close(code: string, extra: { retryAfterMs?: number }): void;
}

function fakeCore(count: number, closeLater: (i: number) => boolean) {
  const connections = new Map<string, FakeConn>();
  const batches: number[] = [];
  const sent: string[] = [];
  const later: string[] = [];
  for (let i = 0; i < count; i++) {
    const conn: FakeConn = {
      id: `c${i}`,
      closes: [],
      close(code, extra) {
        this.closes.push({ code, retryAfterMs: extra.retryAfterMs });
        if (closeLater(i)) later.push(this.id);
        else connections.delete(this.id);
      },
    };
    connections.set(conn.id, conn);
  }
  const all = [...connections.values()];
  const logger = {
    info: (fields: { closed?: number }, message: string) => {
      if (message === 'drain batch') batches.push(fields.closed as number);
    },
  };
  const core = {
    connections,
    logger,
    supervisor: { pool: { send: (event: { type: string }) => sent.push(event.type) } },
  } as unknown as GatewayCore;
  return { core, connections, all, batches, sent, later };
}

describe('drainConnections', () => {
  it('closes every socket once with SERVICE_RESTART and a retry hint, batchSize at a time', async () => {
    const { core, all, batches, sent, connections } = fakeCore(1234, () => false);
    await drainConnections(core, 500);
    expect(connections.size).toBe(0);
    expect(batches).toEqual([500, 500, 234]);
    for (const conn of all) {
      expect(conn.closes).toHaveLength(1);
      expect(conn.closes[0]?.code).toBe('SERVICE_RESTART');
      expect(conn.closes[0]?.retryAfterMs).toBeGreaterThanOrEqual(250);
      expect(conn.closes[0]?.retryAfterMs).toBeLessThanOrEqual(750);
    }
    expect(sent).toEqual(['pool.drained']);
  });

  it('yields to the event loop between batches', async () => {
    const { core, batches } = fakeCore(300, () => false);
    const seenAtTurns: number[] = [];
    const watch = setInterval(() => seenAtTurns.push(batches.length), 0);
    const ticker = (async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        seenAtTurns.push(batches.length);
      }
    })();
    await drainConnections(core, 100);
    clearInterval(watch);
    await ticker;
    expect(batches).toEqual([100, 100, 100]);
    // Other work ran while the drain was between batches, not only before or after it.
    expect(seenAtTurns.some((n) => n > 0 && n < 3)).toBe(true);
  });

  it('waits for sockets whose close completes later, without closing them twice', async () => {
    const { core, all, sent, later, connections } = fakeCore(10, (i) => i % 3 === 0);
    const done = drainConnections(core, 4);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(sent).toEqual([]);
    expect(connections.size).toBe(later.length);
    for (const id of later) connections.delete(id); // the peers' close frames arrive
    await done;
    expect(sent).toEqual(['pool.drained']);
    for (const conn of all) expect(conn.closes).toHaveLength(1);
  });
});
