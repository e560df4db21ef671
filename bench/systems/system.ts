/**
 * What a scenario needs from a system under test, whatever it is: where clients
 * connect, which processes' CPU and memory are its cost, and how to stop it.
 */
import type { SystemName } from '../lib/options.ts';

/** How the load generator talks to a system (see bench/load/clients/). */
export type ClientKind = 'raw' | 'tether' | 'tether-sse' | 'socketio';

export interface RunningSystem {
  readonly name: SystemName;
  readonly clientKind: ClientKind;
  /** WebSocket (or Socket.IO, or the SSE stream's) URL for clients. */
  readonly url: string;
  /** HS256 secret clients sign their tokens with (tether only). */
  readonly jwtSecret?: string;
  /** The server processes whose CPU and RSS are the system's cost. */
  serverPids(): number[];
  /** Processes the system depends on, reported separately (tether: its redis-server). */
  auxPids(): number[];
  /** The tail of the servers' stderr and whether they are still running, for failure notes. */
  diagnostics(): string;
  /** Full GC in every server process (for memory figures). */
  collectGarbage(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Gateway processes sharing the port (tether only; SO_REUSEPORT). @defaultValue 1 */
  processes?: number;
  /** Write V8 CPU profiles of the tether server into this folder. */
  cpuProfDir?: string;
  /** Extra node/V8 flags for every server process (e.g. the idle-memory scenario's). */
  nodeArgs?: string[];
  /** Environment for the tether gateways, over the bench's own (e.g. a small MAX_CONNECTIONS). */
  env?: Record<string, string>;
  /**
   * A Redis the scenario started and stops itself (tether only; e.g. a cluster): its
   * REDIS_URL and the redis-server PIDs reported as the system's aux cost. @defaultValue a private redis-server
   */
  redis?: { url: string; pids: number[] };
}
