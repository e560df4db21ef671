/**
 * What `REDIS_URL` names, read without connecting (so configuration can refuse a
 * bad one at start):
 * - `redis://[user:pass@]host[:port][/db]` / `rediss://…`: one server (ioredis reads the
 *   URL itself; its host, port and database number are checked here, so a URL ioredis
 *   would throw on, or a database number it would send as `SELECT NaN`, stops start-up);
 * - `redis+cluster://[user:pass@]host:port[,host:port…]`: seed nodes of a Redis
 *   Cluster (the client finds the rest);
 * - `redis+sentinel://[user:pass@]host:port[,host:port…]/<masterName>`: Sentinels
 *   that name the master. The credentials are the master's; the Sentinels are
 *   asked without any.
 * A `rediss+` scheme speaks TLS to every node (and to the Sentinels).
 */

export type RedisTarget =
  /** `db`: the database number of the URL's path (0 without one); ioredis SELECTs it on every connection. */
  | { kind: 'standalone'; url: string; db: number }
  | { kind: 'cluster'; nodes: HostPort[]; tls: boolean; username?: string; password?: string }
  | {
      kind: 'sentinel';
      sentinels: HostPort[];
      masterName: string;
      tls: boolean;
      username?: string;
      password?: string;
    };

/** How channel announcements travel: SPUBLISH/SSUBSCRIBE on the stream's own slot, or PUBLISH to every node. */
export type PubSubMode = 'sharded' | 'classic';

/** Sharded on a cluster: a classic PUBLISH is copied to every node over the cluster bus. */
export function defaultPubSub(target: RedisTarget): PubSubMode {
  return target.kind === 'cluster' ? 'sharded' : 'classic';
}

/**
 * Action-queue shards (ACTION_QUEUE_SHARDS, src/actions/action-job.ts): 8 on a cluster,
 * so the queues spread over its masters; 1 on one server, where shards buy nothing and
 * one queue keeps one global priority order.
 */
export function defaultActionShards(target: RedisTarget): number {
  return target.kind === 'cluster' ? 8 : 1;
}

export interface HostPort {
  host: string;
  port: number;
}

export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

const MULTI_NODE = /^(rediss?)\+(cluster|sentinel):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/([^?#]*))?$/;

export function parseRedisUrl(url: string): RedisTarget {
  const match = MULTI_NODE.exec(url);
  if (!match) {
    if (/^rediss?:\/\//.test(url)) return parseStandalone(url);
    throw new RedisUrlError(
      `REDIS_URL must start with redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel:// (got ${redact(url)})`,
    );
  }
  const [, scheme, kind, credentials, hosts, path] = match as unknown as string[];
  const tls = scheme === 'rediss';
  const nodes = (hosts as string).split(',').map((hostPort) => parseHostPort(hostPort, url));
  const auth = parseCredentials(credentials, url);
  if (kind === 'cluster') {
    if (path)
      throw new RedisUrlError(
        `REDIS_URL ${redact(url)}: a Redis Cluster has only database 0, so its URL has no path (drop "/${path}")`,
      );
    return { kind: 'cluster', nodes, tls, ...auth };
  }
  const masterName = decoded(path ?? '', 'master name', url);
  if (!masterName)
    throw new RedisUrlError(
      `REDIS_URL ${redact(url)} names no master: redis+sentinel://host:port/<masterName>`,
    );
  return { kind: 'sentinel', sentinels: nodes, masterName, tls, ...auth };
}

/** The largest database number a URL may name (Redis's `databases` is an int); the server's own count is checked at connect. */
const MAX_DB = 2 ** 31 - 1;

function parseStandalone(url: string): RedisTarget {
  const form = 'redis://[user:password@]host[:port][/db]';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(`REDIS_URL ${redact(url)} is not a valid URL (a port is 1–65535): ${form}`);
  }
  if (!parsed.hostname) throw new RedisUrlError(`REDIS_URL ${redact(url)} names no host: ${form}`);
  if (parsed.port === '0') throw new RedisUrlError(`REDIS_URL ${redact(url)}: the port must be 1–65535`);
  // ioredis decodes both (and throws URIError on a stray `%`).
  decoded(parsed.username, 'user name', url);
  decoded(parsed.password, 'password', url);
  // ioredis reads the database from the path, else from a `db` query parameter.
  const path = parsed.pathname === '/' ? '' : parsed.pathname.slice(1);
  const written = path || parsed.searchParams.get('db') || '0';
  if (!/^\d{1,10}$/.test(written) || Number(written) > MAX_DB)
    throw new RedisUrlError(
      `REDIS_URL ${redact(url)}: ${JSON.stringify(written)} is not a database number (0, 1, 2…): ${form}`,
    );
  return { kind: 'standalone', url, db: Number(written) };
}

function parseHostPort(text: string, url: string): HostPort {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d{1,5}))?$/.exec(text);
  const port = Number(match?.[2] ?? 6379);
  if (!match || port < 1 || port > 65535)
    throw new RedisUrlError(`REDIS_URL ${redact(url)}: "${text}" is not host:port`);
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port };
}

function parseCredentials(text: string | undefined, url: string): { username?: string; password?: string } {
  if (!text) return {};
  const colon = text.indexOf(':');
  if (colon < 0) return { password: decoded(text, 'password', url) };
  const username = decoded(text.slice(0, colon), 'user name', url);
  return { username: username || undefined, password: decoded(text.slice(colon + 1), 'password', url) };
}

/** A percent-encoded part of the URL, decoded; a `%` not followed by two hex digits is refused. */
function decoded(text: string, what: string, url: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(
      `REDIS_URL ${redact(url)}: the ${what} holds a "%" not followed by two hex digits (write a "%" as %25)`,
    );
  }
}

/** The URL with its password masked (a user name stays; a `password` query parameter too), for messages and logs. */
export function redact(url: string): string {
  return url.replace(/\/\/([^@/:]*:)?[^@/]*@/, '//$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
