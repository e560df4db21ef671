/**
 * ALLOWED_ORIGINS: which web pages may open a WebSocket to the gateway. A browser
 * sends the page's `Origin` with every upgrade (RFC 6455 §4.1, §10.2), and unlike
 * HTTP requests a WebSocket is not held to CORS — without this check any site a
 * user visits can connect with that user's cookies or stored token. Clients that
 * are not browsers send no Origin (and could forge one): they are let through.
 */
export class AllowedOrigins {
  private readonly origins: ReadonlySet<string>;

  /** `origins` as configured (lower case); empty or `*`: any origin. */
  constructor(origins: readonly string[]) {
    this.origins = new Set(origins.includes('*') ? [] : origins);
  }

  /** true when every origin is allowed (ALLOWED_ORIGINS unset or `*`). */
  get any(): boolean {
    return this.origins.size === 0;
  }

  /** Whether an upgrade whose `Origin` header is `origin` ('' when absent) may proceed. */
  allows(origin: string): boolean {
    return this.any || origin === '' || this.origins.has(origin.toLowerCase());
  }
}
