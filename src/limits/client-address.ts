/**
 * The client's address for limits and logs. X-Forwarded-For is believed only when
 * the direct peer is a configured trusted proxy, and then we take the right-most
 * hop that is not itself a trusted proxy (the left-most is client-controlled).
 *
 * Addresses are compared and used as limit keys in one canonical form: a gateway
 * listening on `::` sees IPv4 peers as IPv4-mapped IPv6, spelled out in full by uWS
 * (`0000:0000:0000:0000:0000:ffff:7f00:0001`), while one listening on `0.0.0.0` sees
 * `127.0.0.1`. Both must count against the same per-IP limits and match the same
 * trusted-proxy entry.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { ConfigError } from '../config/config.ts';

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * `address` in canonical text: IPv4 dotted, IPv4-mapped IPv6 as its IPv4 address,
 * other IPv6 compressed and lower-case (RFC 5952, as inet_ntop writes it).
 * Undefined when `address` is not an IP address.
 */
export function normalizeAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family === 0) return undefined;
  let text: string;
  try {
    text = new SocketAddress({ address, family: 'ipv6' }).address;
  } catch {
    return address.toLowerCase(); // e.g. a zone ID (fe80::1%eth0), which SocketAddress refuses
  }
  return IPV4_MAPPED.exec(text)?.[1] ?? text;
}

/** The TRUSTED_PROXIES list: exact addresses and CIDR ranges, IPv4 or IPv6. */
export class TrustedProxies {
  private readonly ranges = new BlockList();
  private readonly count: number;

  /** Throws a ConfigError naming TRUSTED_PROXIES for an entry that is neither an address nor a range. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) this.add(entry);
    this.count = entries.length;
  }

  has(address: string): boolean {
    const family = isIP(address);
    if (this.count === 0 || family === 0) return false;
    return this.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  private add(entry: string): void {
    const [base = '', prefixText, ...rest] = entry.split('/');
    const address = normalizeAddress(base);
    const family = address === undefined ? 0 : isIP(address);
    const prefix = prefixText === undefined ? undefined : Number(prefixText);
    const maxPrefix = family === 4 ? 32 : 128;
    if (
      address === undefined ||
      family === 0 ||
      rest.length > 0 ||
      (prefix !== undefined && !(Number.isInteger(prefix) && prefix >= 0 && prefix <= maxPrefix))
    ) {
      throw new ConfigError(
        `Invalid configuration:\n  TRUSTED_PROXIES=${JSON.stringify(entry)}: not an IP address or CIDR range (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) this.ranges.addAddress(address, type);
    else this.ranges.addSubnet(address, prefix, type);
  }
}

/** The address to count `peer`'s connection against: see the module comment. */
export function clientAddress(peer: string, forwardedFor: string, trusted: TrustedProxies): string {
  const direct = normalizeAddress(peer) ?? peer;
  if (!forwardedFor || !trusted.has(direct)) return direct;
  let reporter = direct;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const text = (hops[i] as string).trim();
    if (!text) continue;
    const hop = normalizeAddress(text);
    // Not an address: the proxy that wrote it is the best we know, so the hop counts as it.
    if (hop === undefined) return reporter;
    if (!trusted.has(hop)) return hop;
    reporter = hop;
  }
  return reporter;
}
