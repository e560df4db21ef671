/**
 * What GET /dev/token mints (development mode only): the claims come from the
 * query, and everything left out is allowed, so a first session needs no setup.
 */
import type { DevTokenClaims } from './token-verifier.ts';

/** How a tier name may look; anything else gets the default tier. */
const TIER_NAME = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * The claims of a development token from GET /dev/token's query: `sub` (default
 * `dev-user`), `channels`, `publish` and `actions` (comma-separated patterns, each
 * defaulting to `*`) and `tier` (default `standard`).
 *
 * @example devTokenClaims((name) => req.getQuery(name)) // ?sub=alice&channels=room:*&tier=pro
 */
export function devTokenClaims(query: (name: string) => string | undefined): DevTokenClaims {
  const list = (name: string) => (query(name) || '*').split(',').filter(Boolean);
  const tier = query('tier');
  return {
    sub: query('sub') || 'dev-user',
    channels: list('channels'),
    publish: list('publish'),
    actions: list('actions'),
    tier: tier && TIER_NAME.test(tier) ? tier : 'standard',
  };
}
