/**
 * src/limits/client-address.ts: one canonical form per address (so limits keyed by it
 * hold however the socket spelled it), TRUSTED_PROXIES with exact addresses and CIDR
 * ranges, and which Forwarded / X-Forwarded-For hop names the client (and its scheme);
 * src/limits/allowed-origins.ts: which pages may open a WebSocket.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config.ts';
import { AllowedOrigins } from '../../src/limits/allowed-origins.ts';
import {
  clientAddress,
  forwardedClient,
  limitKey,
  normalizeAddress,
  TrustedProxies,
} from '../../src/limits/client-address.ts';

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

describe('forwardedClient', () => {
  const proxies = new TrustedProxies(['127.0.0.0/8', '10.0.0.0/8']);
  const headers =
    (values: Record<string, string>) =>
    (name: string): string =>
      values[name] ?? '';

  it('reads Forwarded (RFC 7239): the client and the scheme it used, ports and brackets dropped', () => {
    const from = (forwarded: string) => forwardedClient('127.0.0.1', headers({ forwarded }), proxies);
    expect(from('for=203.0.113.7;proto=https')).toEqual({ ip: '203.0.113.7', proto: 'https' });
    expect(from('for="203.0.113.7:47011";proto=HTTPS')).toEqual({ ip: '203.0.113.7', proto: 'https' });
    expect(from('for="[2001:DB8:cafe::17]:4711"')).toEqual({ ip: '2001:db8:cafe::17', proto: undefined });
    // Two proxies: each appended the connection it received; the right-most untrusted hop is the client.
    expect(
      from('for=198.51.100.1;proto=https, for=203.0.113.9;proto=https, for=10.1.1.1;proto=http'),
    ).toEqual({
      ip: '203.0.113.9',
      proto: 'https',
    });
    // Obfuscated or unknown (§6.2, §6.3): the proxy that wrote it is the best we know.
    expect(from('for=_hidden, for=10.1.1.1;proto=https')).toEqual({ ip: '10.1.1.1', proto: 'https' });
  });

  it('Forwarded wins over X-Forwarded-For; a malformed one is dropped for X-Forwarded-For', () => {
    const both = { forwarded: 'for=203.0.113.7', 'x-forwarded-for': '198.51.100.1' };
    expect(forwardedClient('127.0.0.1', headers(both), proxies).ip).toBe('203.0.113.7');
    const malformed = { forwarded: 'for=203.0.113.7;;=', 'x-forwarded-for': '198.51.100.1' };
    expect(forwardedClient('127.0.0.1', headers(malformed), proxies).ip).toBe('198.51.100.1');
    expect(forwardedClient('127.0.0.1', headers({ forwarded: 'for="unclosed' }), proxies).ip).toBe(
      '127.0.0.1',
    );
  });

  it('X-Forwarded-Proto: one per hop when each proxy appended one, else the nearest proxy’s', () => {
    const pair = (xff: string, proto: string) =>
      forwardedClient('127.0.0.1', headers({ 'x-forwarded-for': xff, 'x-forwarded-proto': proto }), proxies);
    expect(pair('203.0.113.7', 'https')).toEqual({ ip: '203.0.113.7', proto: 'https' });
    expect(pair('203.0.113.7, 10.1.1.1', 'https, http')).toEqual({ ip: '203.0.113.7', proto: 'https' });
    expect(pair('203.0.113.7, 10.1.1.1', 'wss')).toEqual({ ip: '203.0.113.7', proto: 'wss' });
    expect(pair('203.0.113.7', 'not a scheme')).toEqual({ ip: '203.0.113.7', proto: undefined });
  });

  it('from an untrusted peer nothing is believed; with no proxy trusted at all, such requests are counted', () => {
    const sent = headers({ forwarded: 'for=203.0.113.7;proto=https' });
    expect(forwardedClient('198.51.100.1', sent, proxies)).toEqual({ ip: '198.51.100.1' });
    expect(proxies.ignoredWhileEmpty).toBe(0); // a list is set: a stray header is not a misconfiguration
    const none = new TrustedProxies([]);
    expect(forwardedClient('127.0.0.1', sent, none)).toEqual({ ip: '127.0.0.1' });
    expect(forwardedClient('127.0.0.1', headers({ 'x-forwarded-for': '203.0.113.7' }), none).ip).toBe(
      '127.0.0.1',
    );
    expect(forwardedClient('127.0.0.1', headers({}), none).ip).toBe('127.0.0.1');
    expect(none.ignoredWhileEmpty).toBe(2);
  });
});

describe('AllowedOrigins', () => {
  it('empty or * allows any origin', () => {
    for (const origins of [[], ['*']])
      expect(new AllowedOrigins(origins).allows('https://evil.example')).toBe(true);
  });

  it('a list allows exactly its origins, in any case, and requests without an Origin', () => {
    const origins = new AllowedOrigins(['https://app.example.com']);
    expect(origins.allows('https://App.Example.com')).toBe(true);
    expect(origins.allows('')).toBe(true);
    for (const other of [
      'http://app.example.com',
      'https://app.example.com:444',
      'https://evil.example',
      'null',
    ])
      expect(origins.allows(other), other).toBe(false);
  });
});

describe('limitKey: what the per-IP limits count an address as', () => {
  it('an IPv4 address itself; an IPv6 one its /64, however it is spelled', () => {
    expect(limitKey('203.0.113.7')).toBe('203.0.113.7');
    for (const [ip, key] of [
      ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
      ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['2001:db8::', '2001:db8:0:0::/64'],
      ['2001:db8:0:0:1::', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['::', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['2001:0db8:00a1:0002::9', '2001:db8:a1:2::/64'],
      ['1::2:3:4:5:192.0.2.1', '1:0:2:3::/64'],
      ['64:ff9b::192.0.2.1', '64:ff9b:0:0::/64'],
    ])
      expect(limitKey(ip as string), ip).toBe(key);
  });
});
