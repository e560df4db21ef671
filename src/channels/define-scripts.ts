/**
 * Register Lua scripts as ioredis commands (EVALSHA, falling back to EVAL once), on
 * a connection that several stores may share: a name already defined is left as it is.
 */
import type { RedisConnection } from '../redis/redis-target.ts';

/** name → [Lua source, number of KEYS]. */
export type ScriptTable = Record<string, readonly [lua: string, numberOfKeys: number]>;

export function defineScripts(redis: RedisConnection, scripts: ScriptTable): void {
  for (const [name, [lua, numberOfKeys]] of Object.entries(scripts))
    if (!(name in redis)) redis.defineCommand(name, { numberOfKeys, lua });
}
