/**
 * The development-mode banner's addresses (src/dev-mode.ts): each one a URL a browser or
 * curl on this machine can open, whatever HOST the gateway listens on.
 */
import { describe, expect, it } from 'vitest';
import { reachableHost } from '../../src/dev-mode.ts';

describe('the banner’s host', () => {
  it.each([
    ['0.0.0.0', '127.0.0.1'],
    ['::', '[::1]'],
    ['::1', '[::1]'],
    ['fd00::5', '[fd00::5]'],
    ['127.0.0.1', '127.0.0.1'],
    ['localhost', 'localhost'],
  ])('HOST=%s is reached as %s', (host, reached) => {
    expect(reachableHost(host)).toBe(reached);
    expect(() => new URL(`ws://${reachableHost(host)}:8080/ws`)).not.toThrow();
  });
});
