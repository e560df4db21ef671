/**
 * src/limits/client-address.ts: one canonical form per address (so limits keyed by it
 * hold however the socket spelled it), TRUSTED_PROXIES with exact addresses and CIDR
 * ranges, and which X-Forwarded-For hop names the client.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config.ts';
import { clientAddress, normalizeAddress, TrustedProxies } from '../../src/limits/client-address.ts';

describe('normalizeAddress', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.1'], // uWS on `::`, an IPv4 peer
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::1', '::1'],
  ])('%s → %s', (raw, canonical) => {
    expect(normalizeAddress(raw)).toBe(canonical);
  });

  it('is undefined for what is not an address', () => {
    for (const raw of ['', 'unknown', '10.0.0.256', '1.2.3.4:80'])
      expect(normalizeAddress(raw)).toBeUndefined();
  });
});

describe('TrustedProxies', () => {
  it('matches exact addresses and CIDR ranges of both families, whatever the spelling', () => {
    const trusted = new TrustedProxies(['10.0.0.0/8', '192.168.1.5', 'fd00::/8']);
    for (const address of ['10.20.30.40', '192.168.1.5', 'fd12::1', '::ffff:10.0.0.1'])
      expect(trusted.has(address), address).toBe(true);
    for (const address of ['11.0.0.1', '192.168.1.6', 'fe80::1', 'garbage'])
      expect(trusted.has(address), address).toBe(false);
  });

  it.each(['proxy.internal', '10.0.0.0/33', '10.0.0.1/8/8', 'fd00::/129', '10.0.0.0/x'])(
    'refuses %s with an error naming TRUSTED_PROXIES',
    (entry) => {
      expect(() => new TrustedProxies([entry])).toThrow(ConfigError);
      expect(() => new TrustedProxies([entry])).toThrow(/TRUSTED_PROXIES/);
    },
  );
});

describe('clientAddress', () => {
  const proxies = new TrustedProxies(['127.0.0.0/8', '10.0.0.0/8']);

  it('is the canonical peer when the peer is not a trusted proxy; the header is ignored', () => {
    expect(clientAddress('2001:0db8::0001', '203.0.113.7', proxies)).toBe('2001:db8::1');
  });

  it('behind trusted proxies: the right-most hop that is not one of them, canonical', () => {
    const peer = '0000:0000:0000:0000:0000:ffff:7f00:0001';
    expect(clientAddress(peer, '198.51.100.1, 2001:DB8::7, 10.1.1.1', proxies)).toBe('2001:db8::7');
    expect(clientAddress(peer, '', proxies)).toBe('127.0.0.1');
  });

  it('a hop that is not an address counts as the proxy that wrote it', () => {
    expect(clientAddress('127.0.0.1', 'unknown, 10.1.1.1', proxies)).toBe('10.1.1.1');
    expect(clientAddress('127.0.0.1', '10.2.2.2, 10.1.1.1', proxies)).toBe('10.2.2.2');
  });
});
