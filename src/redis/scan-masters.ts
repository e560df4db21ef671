/**
 * SCAN over every master: on a cluster each master holds only its own slots' keys,
 * and a SCAN sent through the cluster client reaches one of them at random.
 */
import { masters, type RedisConnection } from './redis-target.ts';

/** Batches of keys matching `pattern`, master by master (SCAN: never blocks Redis). */
export async function* scanMasters(
  redis: RedisConnection,
  pattern: string,
  count = 500,
): AsyncGenerator<string[]> {
  for (const node of masters(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
