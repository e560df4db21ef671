/**
 * TIER_PRIORITIES stays within 1–9 (issue 3): 0 would become 1 in BullMQ while the
 * local line sorted it first, huge values make BullMQ's add throw, and 10 or more
 * would break the action order (class × 10 + tier priority). Within that range,
 * every action of a class goes before any of the next class.
 */
import { describe, expect, it } from 'vitest';
import { actionPriority } from '../../src/actions/action-dispatcher.ts';
import { ConfigError, loadConfig } from '../../src/config/config.ts';
import { tierPriority } from '../../src/core/principal.ts';

const env = (TIER_PRIORITIES: string) => ({ NODE_ENV: 'test', TIER_PRIORITIES });

describe('TIER_PRIORITIES', () => {
  it.each(['gold=0', 'gold=10', 'gold=1,silver=2097153', 'gold=-1', 'gold=1.5'])(
    '%s stops start-up with an error naming the variable',
    (value) => {
      expect(() => loadConfig(env(value))).toThrow(ConfigError);
      expect(() => loadConfig(env(value))).toThrow(/TIER_PRIORITIES=.*1–9/);
    },
  );

  it('1–9 are accepted', () => {
    expect(loadConfig(env('gold=1,silver=5,bronze=9')).admission.tierPriorities).toEqual({
      gold: 1,
      silver: 5,
      bronze: 9,
    });
  });

  it('a tier not listed ranks after every listed one, at most 10', () => {
    expect(tierPriority({ gold: 1, bronze: 9 }, 'gold')).toBe(1);
    expect(tierPriority({ gold: 1, bronze: 9 }, 'tin')).toBe(10);
    expect(tierPriority({ gold: 2 }, 'tin')).toBe(3);
  });
});

describe('action priority', () => {
  const classes = [1, 2, 3, 4, 5, 6, 7, 8, 9];
  const tiers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]; // 10: a tier TIER_PRIORITIES does not list

  it('every action of a class goes before any action of the next class, whatever the tiers', () => {
    for (const actionClass of classes.slice(0, -1)) {
      const worstOfClass = Math.max(...tiers.map((t) => actionPriority(actionClass, t)));
      const bestOfNext = Math.min(...tiers.map((t) => actionPriority(actionClass + 1, t)));
      expect(worstOfClass, `class ${actionClass}`).toBeLessThan(bestOfNext);
    }
  });

  it('within a class, better tiers first; always a priority BullMQ accepts (1 … 2^21)', () => {
    for (const actionClass of classes) {
      const order = tiers.map((t) => actionPriority(actionClass, t));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(new Set(order).size).toBe(tiers.length);
      for (const priority of order) expect(priority).toBeGreaterThanOrEqual(1);
      for (const priority of order) expect(priority).toBeLessThanOrEqual(2 ** 21);
    }
  });
});
