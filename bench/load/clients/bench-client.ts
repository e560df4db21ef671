import type { WireOptions } from '../commands.ts';

/**
 * One client connection as the load generator sees it, whatever the system:
 * the scenarios only relay, publish, count deliveries and close.
 */
export interface ClientHandlers {
  /** A relayed payload came back to this client. */
  relayed(payload: string): void;
  /** An event on the subscribed channel arrived (fan-out). */
  delivered(): void;
}

export interface ClientOptions {
  url: string;
  localAddress: string;
  /** Unique per client: the token's `sub`, and the name of its relay channel. */
  userId: string;
  jwtSecret?: string;
  /** Subscribe to this channel before the connection counts as ready. */
  subscribe?: string;
  /** Make `relay()` work (tether: subscribe the client to its own channel first). */
  relay?: boolean;
  /** Tether: give every publish a fresh `idempotencyKey`. */
  idempotencyKeys?: boolean;
  /** Tether: permessage-deflate offered, batched frames asked for. */
  wire?: WireOptions;
  timeoutMs: number;
}

export interface BenchClient {
  /** Send a payload that the system returns to this same client. */
  relay(payload: string): void;
  /** Publish `payload` as a string, or `dataJson` (JSON text) as the event's data when given. */
  publish(channel: string, payload: string, dataJson?: string): void;
  /** Bytes read from the socket so far (TCP payload: frames as they crossed the wire). */
  bytesRead?(): number;
  readonly isOpen: boolean;
  /** Why the connection ended (close code and reason, or the last error frame), for diagnostics. */
  readonly endedBecause: string | undefined;
  /** Close gracefully; resolves once closed (the caller bounds the wait). */
  close(): Promise<void>;
  /** Drop the socket without a closing handshake. */
  terminate(): void;
}

/** Reject after `timeoutMs` unless settled, running `onTimeout` first (e.g. to drop the socket). */
export function connectDeadline(
  timeoutMs: number,
  reject: (error: Error) => void,
  onTimeout: () => void,
): NodeJS.Timeout {
  return setTimeout(() => {
    onTimeout();
    reject(new Error(`connect: not ready within ${timeoutMs} ms`));
  }, timeoutMs);
}

/**
 * `ws` client options shared by every generator socket. An all-zero masking key
 * makes `ws` skip masking (RFC 6455 §5.3 needs unpredictable keys against proxy
 * cache poisoning, which cannot happen on loopback): the generator's CPU goes to
 * load, not to XOR. For the same reason text frames are not checked for valid UTF-8:
 * the servers under test are the bench's own, and the check is the generator's cost,
 * paid per delivery, whatever the server.
 */
export function generatorSocketOptions(localAddress: string, deflate = false) {
  return { localAddress, perMessageDeflate: deflate, generateMask: () => {}, skipUTF8Validation: true };
}
