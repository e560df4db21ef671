/**
 * Source addresses in 127.0.0.0/8 for client sockets. A client that binds a local
 * address takes an ephemeral port that is unique per address (bind happens before
 * connect), so one address holds at most ~28K sockets (ip_local_port_range), and
 * ports stay in TIME_WAIT for 60 s after a client-side close. Handing out fresh
 * addresses for every batch keeps both limits out of the way for a whole run.
 */
const PER_ADDRESS = 10_000;
let next = 0;

/** Enough never-used addresses for `count` sockets (127.1.x.y, x and y in 1..250). */
export function allocateSourceAddresses(count: number): string[] {
  const needed = Math.max(1, Math.ceil(count / PER_ADDRESS));
  const addresses: string[] = [];
  for (let i = 0; i < needed; i++, next++) {
    if (next >= 250 * 250) throw new Error('source addresses exhausted');
    addresses.push(`127.1.${1 + Math.floor(next / 250)}.${1 + (next % 250)}`);
  }
  return addresses;
}
