/**
 * What GET /dev/token mints (development mode only): the claims come from the
 * query, and everything left out is allowed, so a first session needs no setup.
 */
import { userIdProblem } from '../shared/identifiers.ts';
import type { DevTokenClaims } from './token-verifier.ts';

/** How a tier name may look; anything else gets the default tier. */
const TIER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** A development token was asked for a `sub` the gateway would refuse at hello (the user-ID rule). */
export class DevTokenRefusal extends Error {
  override name = 'DevTokenRefusal';
}

/**
 * The claims of a development token from GET /dev/token's query: `sub` (default
 * `dev-user`), `channels`, `publish` and `actions` (comma-separated patterns, each
 * defaulting to `*`) and `tier` (default `standard`). Throws DevTokenRefusal for a `sub`
 * no gateway would take.
 *
 * @example devTokenClaims((name) => req.getQuery(name)) // ?sub=alice&channels=room:*&tier=pro
 */
export function devTokenClaims(query: (name: string) => string | undefined): DevTokenClaims {
  // ` room:* , feed:* ` is two patterns: spaces around a comma are not part of a name. Left
  // out is everything; given empty (`channels=`) is nothing, not everything.
  const list = (name: string) =>
    (query(name) ?? '*')
      .split(',')
      .map((pattern) => pattern.trim())
      .filter(Boolean);
  const tier = query('tier');
  const sub = query('sub') || 'dev-user';
  // Minted, it would only be refused at hello (AUTH_INVALID_TOKEN): say why here instead.
  const subProblem = userIdProblem(sub);
  if (subProblem) throw new DevTokenRefusal(`sub: ${subProblem}`);
  return {
    sub,
    channels: list('channels'),
    publish: list('publish'),
    actions: list('actions'),
    tier: tier && TIER_NAME.test(tier) ? tier : 'standard',
  };
}
