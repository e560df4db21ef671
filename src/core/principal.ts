/**
 * Who a token says the client is, and what it may do. Claims:
 * - `sub` — user id (required)
 * - `channels` — channel patterns it may subscribe to (default: none)
 * - `publish` — channel patterns it may publish to (default: none)
 * - `actions` — action-name patterns it may invoke (default: none)
 * - `tier` — priority tier for admission and actions (default `standard`)
 *
 * A pattern is `*` (everything), `prefix:*` (a prefix), or an exact channel name.
 */
export interface Principal {
  userId: string;
  channels: string[];
  publish: string[];
  actions: string[];
  tier: string;
  /** Token expiry in ms since the epoch, when the token has one. */
  expiresAt?: number;
  /** When the token was issued (its `iat`), ms since the epoch; revocations compare it. */
  issuedAt?: number;
}

export function channelAllowed(patterns: readonly string[], channel: string): boolean {
  for (const pattern of patterns) {
    if (pattern === '*' || pattern === channel) return true;
    if (pattern.endsWith('*') && channel.startsWith(pattern.slice(0, -1))) return true;
  }
  return false;
}

/** A tier's admission priority (1 = first); a tier not in `priorities` ranks after all listed ones. */
export function tierPriority(priorities: Record<string, number>, tier: string): number {
  // An own entry only: a token's tier may be `constructor`.
  if (Object.hasOwn(priorities, tier)) return priorities[tier] as number;
  return Math.max(0, ...Object.values(priorities)) + 1;
}
