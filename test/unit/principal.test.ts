/**
 * src/core/principal.ts: the channel patterns a token's `channels` and `publish`
 * claims may hold — `*`, `prefix*`, or an exact name.
 */
import { describe, expect, it } from 'vitest';
import { channelAllowed } from '../../src/core/principal.ts';

describe('channelAllowed', () => {
  it('`*` allows every channel', () => {
    for (const channel of ['a', 'room:1', 'inbox:xyz', 'x'.repeat(128)]) {
      expect(channelAllowed(['*'], channel)).toBe(true);
    }
  });

  it('an exact name allows that channel only', () => {
    expect(channelAllowed(['room:1'], 'room:1')).toBe(true);
    expect(channelAllowed(['room:1'], 'room:10')).toBe(false);
    expect(channelAllowed(['room:1'], 'room:')).toBe(false);
    expect(channelAllowed(['room:1'], 'Room:1')).toBe(false); // case-sensitive
  });

  it('`prefix:*` allows the channels that start with the prefix', () => {
    const patterns = ['room:*'];
    expect(channelAllowed(patterns, 'room:1')).toBe(true);
    expect(channelAllowed(patterns, 'room:lobby:sub')).toBe(true);
    expect(channelAllowed(patterns, 'room:')).toBe(true);
    expect(channelAllowed(patterns, 'room')).toBe(false);
    expect(channelAllowed(patterns, 'rooms:1')).toBe(false);
    expect(channelAllowed(patterns, 'xroom:1')).toBe(false);
  });

  it('a trailing `*` is a plain prefix, without an implied separator', () => {
    expect(channelAllowed(['room*'], 'rooms')).toBe(true);
    expect(channelAllowed(['room*'], 'room:1')).toBe(true);
    expect(channelAllowed(['room*'], 'roo')).toBe(false);
  });

  it('`*` only has meaning at the end', () => {
    expect(channelAllowed(['*:1'], 'room:1')).toBe(false);
    expect(channelAllowed(['ro*m:1'], 'room:1')).toBe(false);
    expect(channelAllowed(['*:1'], '*:1')).toBe(true); // as an exact name
  });

  it('no patterns (a token without the claim) allows nothing', () => {
    expect(channelAllowed([], 'room:1')).toBe(false);
    expect(channelAllowed([''], 'room:1')).toBe(false);
  });

  it('any one matching pattern is enough', () => {
    const patterns = ['news', 'room:*', 'user:42'];
    expect(channelAllowed(patterns, 'news')).toBe(true);
    expect(channelAllowed(patterns, 'room:7')).toBe(true);
    expect(channelAllowed(patterns, 'user:42')).toBe(true);
    expect(channelAllowed(patterns, 'user:43')).toBe(false);
  });
});
