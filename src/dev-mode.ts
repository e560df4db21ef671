/**
 * Development mode: no auth configured. Says so loudly, prints a ready token and
 * a first session. Refused when NODE_ENV=production (src/config/config.ts).
 */
import { randomBytes } from 'node:crypto';
import { isIPv6 } from 'node:net';
import type { Config } from './config/config.ts';
import type { Gateway } from './gateway.ts';

export async function announceDevMode(gateway: Gateway, config: Config): Promise<void> {
  const mint = gateway.mintDevToken;
  if (!mint) return;
  const token = await mint({ sub: 'dev-user' });
  const base = `${reachableHost(config.host)}:${gateway.port}`;
  const line = '='.repeat(78);
  process.stderr.write(
    `\n${line}\n  TETHER IS IN DEVELOPMENT MODE — no auth configured; anyone can mint a token.\n` +
      `  Set AUTH_JWT_SECRET (or AUTH_JWT_PUBLIC_KEY / AUTH_JWKS_URL) for real use.\n${line}\n` +
      `  A token (user dev-user: every channel, publish and action; valid 24 h):\n    ${token}\n` +
      `  More tokens:   curl 'http://${base}/dev/token?sub=alice&channels=room:*'\n` +
      `  WebSocket:     ws://${base}/ws   (first frame: {"type":"hello","token":"..."})\n` +
      `  In a browser:  http://${base}/demo   and the ops dashboard: http://${base}/dashboard\n` +
      `  Publish:       curl -H 'authorization: Bearer ${config.publishApiKeys[0]}' \\\n` +
      `                  -d '{"channel":"room:1","data":{"text":"hi"}}' http://${base}/publish\n${line}\n\n`,
  );
}

/** A throwaway API key for POST /publish, printed at start in development mode. */
export function devApiKey(): string {
  return `dev-${randomBytes(16).toString('hex')}`;
}

/** HOST as a URL's host to reach it from this machine: an any-address is its loopback; IPv6 in brackets. */
export function reachableHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return isIPv6(host) ? `[${host}]` : host;
}
