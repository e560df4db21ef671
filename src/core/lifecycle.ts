/**
 * What happens to connections, announced to whoever cares: limits (a per-IP check
 * at open, slots released at close), admission (a slot or a place in line freed at
 * close) and observability (errors, resumes, replays). The core calls these; it
 * never calls its listeners by name — so it does not depend on them.
 */
import type { ErrorCode } from '../shared/errors.ts';
import type { Connection } from './connection.ts';

export interface LifecycleListener {
  /** A socket was upgraded and has its actor. */
  opened?(conn: Connection): void;
  /** The socket is gone (any reason); `reason` is the code it was closed with, or 'bye'. */
  closed?(conn: Connection, closeCode: number, reason: string | undefined): void;
  /** A coded error reached the client (an error frame, or a coded close). */
  errorReported?(conn: Connection, code: ErrorCode): void;
  /** hello asked to resume: how it went. */
  resumed?(result: 'resumed' | 'expired' | 'rejected', recovered: boolean): void;
  /** A replay (resume, or subscribe with `from`) sent `count` events from the log. */
  replayed?(count: number): void;
}

type Announcement = keyof LifecycleListener;

export class Lifecycle {
  private readonly listeners: LifecycleListener[] = [];

  /** @param report - told when a listener throws (logged by the composition root). */
  constructor(private readonly report: (error: unknown, announcement: string) => void) {}

  listen(listener: LifecycleListener): void {
    this.listeners.push(listener);
  }

  opened(conn: Connection): void {
    this.announce('opened', (l) => l.opened?.(conn));
  }

  closed(conn: Connection, closeCode: number, reason: string | undefined): void {
    this.announce('closed', (l) => l.closed?.(conn, closeCode, reason));
  }

  errorReported(conn: Connection, code: ErrorCode): void {
    this.announce('errorReported', (l) => l.errorReported?.(conn, code));
  }

  resumed(result: 'resumed' | 'expired' | 'rejected', recovered: boolean): void {
    this.announce('resumed', (l) => l.resumed?.(result, recovered));
  }

  replayed(count: number): void {
    if (count > 0) this.announce('replayed', (l) => l.replayed?.(count));
  }

  /** One listener throwing must not keep the others (or the core) from their work. */
  private announce(what: Announcement, call: (listener: LifecycleListener) => void): void {
    for (const listener of this.listeners) {
      try {
        call(listener);
      } catch (error) {
        this.report(error, what);
      }
    }
  }
}
