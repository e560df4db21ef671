/**
 * The log of a dependency's outages (Redis: src/redis/redis-clients.ts), and of the errors
 * its users report meanwhile (BullMQ queues and workers, each a `source`). While Redis is
 * away, ioredis reconnects every few hundred ms and every BullMQ object reports each
 * failed attempt: logged one by one, a 40 s outage was ~200 warn lines. Here:
 * - an outage is one warn line when it begins (`lost`) and one info line when it ends
 *   (`restored`: how long it lasted, and how many errors each source reported unlogged);
 * - a source's errors are logged at most once per SUMMARY_EVERY_MS, the line saying how
 *   many came since its last (`suppressed`). During an outage a source's first error is
 *   counted, not logged: the outage's own line already says why it fails.
 * An intentional close (QUIT at shutdown) is no outage: ioredis reconnects, and `lost` is
 * called, only for a connection it did not close on purpose.
 */
import type { Logger } from './logger.ts';

/** The shortest time between two lines of one source, ms. */
export const SUMMARY_EVERY_MS = 30_000;

interface SourceLog {
  /** When this source last had a line (0: never since the outage began, or ever). */
  loggedAt: number;
  /** Errors since that line, not logged. */
  suppressed: number;
}

export class OutageLog {
  /** When the outage began; undefined while the dependency answers. */
  private downSince: number | undefined;
  private readonly sources = new Map<string, SourceLog>();

  constructor(
    private readonly logger: Logger,
    /** What is lost, for the lines: `redis`. */
    private readonly dependency: string,
  ) {}

  /**
   * Follow `client`'s connection: `reconnecting` begins an outage, `ready` ends it — or, the
   * first time, calls `firstReady`. `reconnecting`, not `close`: ioredis closes on QUIT too
   * (shutdown) and after every failed attempt, and reconnects only a connection it did not
   * close on purpose.
   */
  follow(client: { on(event: string, listener: () => void): unknown }, firstReady?: () => void): void {
    client.on('reconnecting', () => this.lost());
    client.on('ready', () => {
      if (!this.restored()) firstReady?.();
    });
  }

  /** The connection was lost (not closed on purpose) and is being re-established. */
  lost(): void {
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    // Each source's errors from here on are the outage's: the next line of each is a summary.
    for (const source of this.sources.values()) source.loggedAt = this.downSince;
    this.logger.warn(`${this.dependency} connection lost; reconnecting`);
  }

  /**
   * The connection is back. Returns false when there was no outage to end (the first
   * connection), so the caller can say "ready" instead.
   */
  restored(): boolean {
    if (this.downSince === undefined) return false;
    const suppressed: Record<string, number> = {};
    for (const [name, source] of this.sources)
      if (source.suppressed > 0) suppressed[name] = source.suppressed;
    this.logger.info(
      { downMs: Date.now() - this.downSince, ...(Object.keys(suppressed).length ? { suppressed } : {}) },
      `${this.dependency} connection restored`,
    );
    this.downSince = undefined;
    this.sources.clear();
    return true;
  }

  /** `source` (e.g. `admission queue`) reported `error`: a warn line `<source> error`, throttled. */
  error(source: string, error: unknown, fields: Record<string, unknown> = {}): void {
    const now = Date.now();
    let log = this.sources.get(source);
    if (!log) {
      log = { loggedAt: this.downSince ?? 0, suppressed: 0 };
      this.sources.set(source, log);
    }
    if (log.loggedAt !== 0 && now - log.loggedAt < SUMMARY_EVERY_MS) {
      log.suppressed++;
      return;
    }
    const suppressed = log.suppressed;
    log.loggedAt = now;
    log.suppressed = 0;
    this.logger.warn({ err: error, ...fields, ...(suppressed ? { suppressed } : {}) }, `${source} error`);
  }
}
