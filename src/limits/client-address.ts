/**
 * The client's address (for limits and logs) and the scheme it used. `Forwarded`
 * (RFC 7239), else `X-Forwarded-For` with `X-Forwarded-Proto`, is believed only when
 * the direct peer is a configured trusted proxy, and then we take the right-most
 * hop that is not itself a trusted proxy (the left-most is client-controlled).
 * Headers that arrive while TRUSTED_PROXIES is empty are counted, not believed:
 * `/health/websocket` warns about them (a proxy nobody told Tether about).
 *
 * Addresses are compared and used as limit keys in one canonical form (normalizeAddress,
 * src/config/trusted-proxies.ts, which also reads TRUSTED_PROXIES at configuration load):
 * a gateway listening on `::` and one listening on `0.0.0.0` spell an IPv4 peer
 * differently, and both must count against the same per-IP limits and match the same
 * trusted-proxy entry.
 */
import { isIP } from 'node:net';
import parseForwarded from 'forwarded-parse';
import { normalizeAddress, proxyRanges } from '../config/trusted-proxies.ts';

export { normalizeAddress } from '../config/trusted-proxies.ts';

/** The TRUSTED_PROXIES list: exact addresses and CIDR ranges, IPv4 or IPv6. */
export class TrustedProxies {
  private readonly ranges: ReturnType<typeof proxyRanges>;
  private readonly count: number;
  /** Requests that carried forwarding headers while no proxy is trusted. */
  ignoredWhileEmpty = 0;

  /** Throws a ConfigError naming TRUSTED_PROXIES for an entry that is neither an address nor a range. */
  constructor(entries: readonly string[]) {
    this.ranges = proxyRanges(entries);
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

/**
 * What the per-IP limits count `ip` (canonical, as forwardedClient gives it) as: an IPv4
 * address itself, an IPv6 address its /64 (`2001:db8:1:2::/64`). A /64 is the smallest
 * block a network hands one subscriber (RFC 6177), and a client can take any address in
 * its own at will: counted by address, one host would have 2^64 budgets.
 */
export function limitKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const address = ip.split('%')[0] as string; // a zone ID names an interface, not a host
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing dotted IPv4 part (`64:ff9b::192.0.2.1`) fills two of the eight groups.
  const rightGroups = right.length + (right.at(-1)?.includes('.') ? 1 : 0);
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - rightGroups).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(':')}::/64`;
}
