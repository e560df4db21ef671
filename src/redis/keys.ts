/**
 * Redis keys Tether writes (limits keep theirs in src/limits/rate-limits.ts, BullMQ
 * under `{<prefix>-bull}`). Keys are hash-tagged (`{...}`) so each session and each
 * channel lands on one Redis Cluster slot.
 */
export interface Keys {
  session(sessionId: string): string;
  channel(channel: string): string;
  /** The live gateway processes, scored by when each lapses (src/redis/node-presence.ts). */
  nodes(): string;
  /** Held by a process while it starts under `nodeId` (src/redis/node-presence.ts). */
  nodeStart(nodeId: string): string;
}

export function redisKeys(prefix: string): Keys {
  return {
    session: (sessionId) => `${prefix}:{s:${sessionId}}`,
    channel: (channel) => `${prefix}:{c:${channel}}`,
    nodes: () => `${prefix}:nodes`,
    nodeStart: (nodeId) => `${prefix}:node-start:${nodeId}`,
  };
}
