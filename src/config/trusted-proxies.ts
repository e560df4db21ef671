/**
 * TRUSTED_PROXIES read into the ranges src/limits/client-address.ts matches peers
 * against: exact addresses and CIDR ranges, IPv4 or IPv6. Read here, at configuration
 * load, so `tether check-config` refuses a bad entry as `tether start` does, before
 * anything listens.
 *
 * Addresses are compared in one canonical form (normalizeAddress): a gateway listening
 * on `::` sees IPv4 peers as IPv4-mapped IPv6, spelled out in full by uWS
 * (`0000:0000:0000:0000:0000:ffff:7f00:0001`), while one listening on `0.0.0.0` sees
 * `127.0.0.1`. Both must match the same trusted-proxy entry.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import { ConfigError } from './config-error.ts';

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

/**
 * The ranges `entries` name. Throws a ConfigError naming TRUSTED_PROXIES and every
 * entry that is neither an address nor a CIDR range.
 */
export function proxyRanges(entries: readonly string[]): BlockList {
  const ranges = new BlockList();
  const bad = entries.filter((entry) => !addEntry(ranges, entry));
  if (bad.length > 0)
    throw new ConfigError(
      bad.map(
        (entry) =>
          `TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR range (e.g. 10.0.0.1, 10.0.0.0/8, fd00::/8)`,
      ),
    );
  return ranges;
}

/** Adds `entry` to `ranges`; false when it is not an address or a range. */
function addEntry(ranges: BlockList, entry: string): boolean {
  const [base = '', prefixText, ...rest] = entry.split('/');
  const address = normalizeAddress(base);
  const family = address === undefined ? 0 : isIP(address);
  if (address === undefined || family === 0 || rest.length > 0) return false;
  const maxPrefix = family === 4 ? 32 : 128;
  if (prefixText !== undefined && !(/^\d{1,3}$/.test(prefixText) && Number(prefixText) <= maxPrefix))
    return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  try {
    if (prefixText === undefined) ranges.addAddress(address, type);
    else ranges.addSubnet(address, Number(prefixText), type);
  } catch {
    return false; // what BlockList itself refuses (a zone ID: fe80::1%eth0)
  }
  return true;
}
