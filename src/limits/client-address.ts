/**
 * The client's address for limits and logs. X-Forwarded-For is believed only when
 * the direct peer is a configured trusted proxy, and then we take the right-most
 * hop that is not itself a trusted proxy (the left-most is client-controlled).
 */
export function clientAddress(peer: string, forwardedFor: string, trustedProxies: readonly string[]): string {
  if (!forwardedFor || !trustedProxies.includes(peer)) return peer;
  const hops = forwardedFor
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (!trustedProxies.includes(hop)) return hop;
  }
  return peer;
}
