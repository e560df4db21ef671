/**
 * Action-queue shards (src/actions/action-job.ts): a session always lands on the same
 * shard, sessions spread over all of them, and every shard has a hash tag of its own.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { actionShardOf, actionShardPrefixes } from '../../src/actions/action-job.ts';

describe('action shards', () => {
  it('routes a session to the same shard every time, and sessions over every shard', () => {
    const sessions = Array.from({ length: 800 }, () => randomUUID());
    const shards = sessions.map((id) => actionShardOf(id, 8));
    expect(sessions.map((id) => actionShardOf(id, 8))).toEqual(shards);
    const perShard = Array.from({ length: 8 }, (_, shard) => shards.filter((s) => s === shard).length);
    for (const count of perShard) expect(count).toBeGreaterThan(50); // 100 each on average
    expect(sessions.every((id) => actionShardOf(id, 1) === 0)).toBe(true);
  });

  it('gives each shard its own hash tag; shard 0 keeps the single queue’s prefix', () => {
    const prefixes = actionShardPrefixes('tether', 4);
    expect(prefixes).toEqual(['{tether-bull}', '{tether-bull-1}', '{tether-bull-2}', '{tether-bull-3}']);
  });
});
