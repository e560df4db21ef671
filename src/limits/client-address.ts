/**
 * The client's address (for limits and logs) and the scheme it used. `Forwarded`
 * (RFC 7239), else `X-Forwarded-For` with `X-Forwarded-Proto`, is believed only when
 * the direct peer is a configured trusted proxy, and then we take the right-most
 * hop that is not itself a trusted proxy (the left-most is client-controlled).
 * Headers that arrive while TRUSTED_PROXIES is empty are counted, not believed:
 * `/health/websocket` warns about them (a proxy nobody told Tether about).
 *
 * Addresses are compared and used as limit keys in one canonical form: a gateway
 * listening on `::` sees IPv4 peers as IPv4-mapped IPv6, spelled out in full by uWS
 * (`0000:0000:0000:0000:0000:ffff:7f00:0001`), while one listening on `0.0.0.0` sees
 * `127.0.0.1`. Both must count against the same per-IP limits and match the same
 * trusted-proxy entry.
 */
import { BlockList, isIP, SocketAddress } from 'node:net';
import parseForwarded from 'forwarded-parse';
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
  /** Requests that carried forwarding headers while no proxy is trusted. */
  ignoredWhileEmpty = 0;

  /** Throws a ConfigError naming TRUSTED_PROXIES for an entry that is neither an address nor a range. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) this.add(entry);
    this.count = entries.length;
  }

  get empty(): boolean {
    return this.count === 0;
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

/** Who is behind a request: its address, and the scheme (`https`…) a trusted proxy says it used. */
export interface ForwardedClient {
  ip: string;
  proto?: string;
}

interface Hop {
  /** As written: an address, maybe with a port or brackets, or `unknown` / an obfuscated `_name`. */
  for: string;
  proto?: string;
}

/** `peer`'s client, from the request's headers (`header(lowerCaseName)`, '' when absent): see the module comment. */
export function forwardedClient(
  peer: string,
  header: (name: string) => string,
  trusted: TrustedProxies,
): ForwardedClient {
  const direct = normalizeAddress(peer) ?? peer;
  const hops = forwardedHops(header);
  if (!hops) return { ip: direct };
  if (trusted.empty) trusted.ignoredWhileEmpty++;
  if (!trusted.has(direct)) return { ip: direct };
  let reporter: ForwardedClient = { ip: direct };
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as Hop;
    const address = normalizeAddress(hostOf(hop.for));
    const proto = schemeOf(hop.proto);
    // Not an address: the proxy that wrote it is the best we know, so the hop counts as it.
    if (address === undefined) return reporter;
    if (!trusted.has(address)) return { ip: address, proto };
    reporter = { ip: address, proto };
  }
  return reporter;
}

/** The address to count `peer`'s connection against, from X-Forwarded-For alone. */
export function clientAddress(peer: string, forwardedFor: string, trusted: TrustedProxies): string {
  return forwardedClient(peer, (name) => (name === 'x-forwarded-for' ? forwardedFor : ''), trusted).ip;
}

/** The chain of hops, client first; `Forwarded` wins over the X-Forwarded-* pair. Undefined: none sent. */
function forwardedHops(header: (name: string) => string): Hop[] | undefined {
  const forwarded = header('forwarded');
  if (forwarded) {
    try {
      return parseForwarded(forwarded).map((element) => ({ for: element.for ?? '', proto: element.proto }));
    } catch {
      // A malformed Forwarded header: believe none of it (X-Forwarded-For, if any, below).
    }
  }
  const forwardedFor = header('x-forwarded-for');
  if (!forwardedFor) return forwarded ? [] : undefined;
  const addresses = forwardedFor.split(',').map((hop) => hop.trim());
  const protos = header('x-forwarded-proto')
    .split(',')
    .map((proto) => proto.trim())
    .filter(Boolean);
  // One proto per hop when the proxies each appended theirs; else the nearest proxy's, for every hop.
  const protoAt = (i: number) => (protos.length === addresses.length ? protos[i] : protos[protos.length - 1]);
  return addresses.flatMap((address, i) => (address ? [{ for: address, proto: protoAt(i) }] : []));
}

/** RFC 7239 §6: `192.0.2.43:47011`, `[2001:db8::17]:4711` → the address alone. */
function hostOf(node: string): string {
  if (node.startsWith('[')) return node.slice(1, node.indexOf(']'));
  return isIP(node) ? node : (node.split(':')[0] ?? node);
}

function schemeOf(proto: string | undefined): string | undefined {
  const scheme = proto?.toLowerCase();
  return scheme && /^[a-z][a-z0-9+.-]*$/.test(scheme) ? scheme : undefined;
}
