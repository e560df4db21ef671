/**
 * `POST /ws/cleanup`: find session hashes that should no longer exist and remove
 * them. Sessions normally expire by TTL (src/session/session-store.ts), so a stale
 * one means something went wrong: a hash without a TTL (written by a process
 * that died mid-way, or by hand), or one still marked `reconnecting` past the
 * resume window. Uses SCAN, so Redis is never blocked, on every master of a cluster.
 */
import type { RedisConnection } from '../redis/redis-target.ts';
import { scanMasters } from '../redis/scan-masters.ts';

export interface CleanupOptions {
  /** REDIS_PREFIX. */
  prefix: string;
  /** A reconnecting session older than this (last activity) is stale, ms. */
  resumeWindowMs: number;
  /** Sessions this process holds right now: never removed. */
  liveSessionIds: ReadonlySet<string>;
  /** Report without deleting. @defaultValue false */
  dryRun?: boolean;
  /** Keys asked for per SCAN step. @defaultValue 500 */
  scanCount?: number;
  /** Unix ms to compare with. @defaultValue Date.now() */
  now?: number;
}

export interface StaleSession {
  sessionId: string;
  reason: 'no-ttl' | 'resume-window-passed' | 'incomplete';
}

export interface CleanupReport {
  scanned: number;
  stale: StaleSession[];
  removed: number;
  dryRun: boolean;
}

export async function removeStaleSessions(
  redis: RedisConnection,
  options: CleanupOptions,
): Promise<CleanupReport> {
  const now = options.now ?? Date.now();
  const dryRun = options.dryRun ?? false;
  const keyStart = `${options.prefix}:{s:`;
  const report: CleanupReport = { scanned: 0, stale: [], removed: 0, dryRun };
  for await (const keys of scanMasters(redis, `${keyStart}*}`, options.scanCount ?? 500)) {
    report.scanned += keys.length;
    // One command per key (one write per turn all the same): on a cluster the keys of one batch live in many slots.
    const found = await Promise.all(
      keys.map((key) =>
        Promise.all([redis.pttl(key), redis.hmget(key, 'session_id', 'health', 'last_activity')]),
      ),
    );
    const doomed: string[] = [];
    keys.forEach((key, i) => {
      const sessionId = key.slice(keyStart.length, -1);
      if (options.liveSessionIds.has(sessionId)) return;
      const [ttl, [id, health, lastActivity] = []] = found[i] ?? [];
      const reason = staleReason(ttl, id, health, Number(lastActivity), now, options.resumeWindowMs);
      if (!reason) return;
      report.stale.push({ sessionId, reason });
      doomed.push(key);
    });
    if (!dryRun && doomed.length > 0)
      report.removed += (await Promise.all(doomed.map((key) => redis.unlink(key)))).reduce(
        (a, b) => a + b,
        0,
      );
  }
  return report;
}

function staleReason(
  ttl: number | undefined,
  sessionId: string | null | undefined,
  health: string | null | undefined,
  lastActivity: number,
  now: number,
  resumeWindowMs: number,
): StaleSession['reason'] | undefined {
  if (ttl === -2) return undefined; // expired between SCAN and PTTL
  if (ttl === -1) return 'no-ttl';
  if (!sessionId) return 'incomplete';
  if (health === 'reconnecting' && Number.isFinite(lastActivity) && now - lastActivity > resumeWindowMs)
    return 'resume-window-passed';
  return undefined;
}
