/**
 * Every Redis key Tether writes. Keys are hash-tagged (`{...}`) so each session and
 * each channel lands on one Redis Cluster slot.
 */
export interface Keys {
  session(sessionId: string): string;
  channel(channel: string): string;
}

export function redisKeys(prefix: string): Keys {
  return {
    session: (sessionId) => `${prefix}:{s:${sessionId}}`,
    channel: (channel) => `${prefix}:{c:${channel}}`,
  };
}
