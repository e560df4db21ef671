/**
 * `client.diagnose()`: the connection checks a support engineer would run, in
 * order, on a separate probe connection — health endpoint, WebSocket upgrade,
 * auth, round-trip latency, clock skew — as one structured report with a
 * suggestion for each problem found. The probe says `bye`, so its session ends.
 */
import type { ServerFrame } from '../shared/frames.ts';
import { classifyClose } from './classify-close.ts';
import type { ResolvedOptions } from './client-options.ts';
import { TetherClientError } from './tether-client-error.ts';
import { resolveWebSocket, type WebSocketLike } from './websocket-like.ts';

export interface DiagnosticCheck {
  ok: boolean;
  /** How long the check took, ms. */
  ms?: number;
  detail: string;
  error?: Record<string, unknown>;
}

export interface DiagnosticReport {
  ok: boolean;
  /** ISO time of the run. */
  at: string;
  url: string;
  httpUrl: string;
  client: { state: string; lastError?: Record<string, unknown> };
  checks: {
    health: DiagnosticCheck;
    upgrade: DiagnosticCheck;
    auth: DiagnosticCheck;
    latency: DiagnosticCheck;
    clockSkew: DiagnosticCheck;
  };
  /** Round trips of app-level pings, ms. */
  latencySamplesMs: number[];
  /** Server clock minus client clock (median), ms. */
  clockSkewMs?: number;
  /** What to do, one line per problem. */
  suggestions: string[];
}

const PINGS = 5;
const SLOW_RTT_MS = 1000;
const SKEW_LIMIT_MS = 5000;

export async function diagnose(
  options: ResolvedOptions,
  getToken: () => Promise<string | undefined>,
  client: { state: string; lastError?: TetherClientError },
): Promise<DiagnosticReport> {
  const timeoutMs = options.connectTimeoutMs;
  const skipped = (why: string): DiagnosticCheck => ({ ok: false, detail: `skipped: ${why}` });
  const report: DiagnosticReport = {
    ok: false,
    at: new Date().toISOString(),
    url: options.url,
    httpUrl: options.httpUrl,
    client: { state: client.state, lastError: client.lastError?.toJSON() },
    checks: {
      health: await checkHealth(options.httpUrl, timeoutMs),
      upgrade: skipped('upgrade not attempted'),
      auth: skipped('no WebSocket'),
      latency: skipped('not authenticated'),
      clockSkew: skipped('no pong'),
    },
    latencySamplesMs: [],
    suggestions: [],
  };
  const { checks, suggestions } = report;
  if (!checks.health.ok)
    suggestions.push(
      `Health: ${checks.health.detail}. Check the gateway URL and that the gateway and Redis are up.`,
    );

  const probe = await Probe.open(options, timeoutMs);
  checks.upgrade = probe.check;
  if (!probe.ws) {
    suggestions.push(
      'The WebSocket upgrade failed: check the /ws path, TLS (wss://), and proxies or firewalls that strip Upgrade headers.',
    );
  } else {
    try {
      checks.auth = await probe.authenticate(getToken, timeoutMs);
      if (!checks.auth.ok)
        suggestions.push(`Auth: ${(checks.auth.error?.recovery as string) ?? checks.auth.detail}`);
      else {
        for (let i = 0; i < PINGS; i++) {
          const sample = await probe.ping(timeoutMs);
          if (!sample) break;
          report.latencySamplesMs.push(sample.rttMs);
          probe.skews.push(sample.skewMs);
        }
        const rtt = median(report.latencySamplesMs);
        checks.latency =
          rtt === undefined
            ? { ok: false, detail: 'no pong to any ping: the connection may be half-open' }
            : {
                ok: rtt < SLOW_RTT_MS,
                ms: rtt,
                detail: `median round trip ${rtt} ms over ${report.latencySamplesMs.length} pings`,
              };
        if (rtt !== undefined && rtt >= SLOW_RTT_MS)
          suggestions.push('Latency is high: check the network path or use a closer gateway region.');
        report.clockSkewMs = median(probe.skews);
        checks.clockSkew =
          report.clockSkewMs === undefined
            ? skipped('no pong')
            : {
                ok: Math.abs(report.clockSkewMs) < SKEW_LIMIT_MS,
                detail: `server clock is ${report.clockSkewMs} ms ${report.clockSkewMs >= 0 ? 'ahead of' : 'behind'} this one`,
              };
        if (!checks.clockSkew.ok && report.clockSkewMs !== undefined) {
          suggestions.push(
            'The clocks differ by more than 5 s: sync this device (NTP); token expiry checks may misfire.',
          );
        }
      }
    } finally {
      probe.close();
    }
  }
  report.ok = Object.values(checks).every((c) => c.ok);
  return report;
}

async function checkHealth(httpUrl: string, timeoutMs: number): Promise<DiagnosticCheck> {
  const started = Date.now();
  try {
    const res = await fetch(`${httpUrl}/readyz`, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.json().catch(() => ({}))) as { redis?: boolean; draining?: boolean };
    const ms = Date.now() - started;
    if (res.ok) return { ok: true, ms, detail: 'gateway ready' };
    const why = body.draining
      ? 'gateway is draining (shutting down)'
      : body.redis === false
        ? 'gateway cannot reach Redis'
        : `HTTP ${res.status}`;
    return { ok: false, ms, detail: `not ready: ${why}` };
  } catch (error) {
    return { ok: false, ms: Date.now() - started, detail: `unreachable: ${(error as Error).message}` };
  }
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A throwaway connection that waits for frames one at a time. */
class Probe {
  readonly skews: number[] = [];
  private frames: ServerFrame[] = [];
  private closed: { code: number; reason: string } | undefined;
  private wake: (() => void) | undefined;

  private constructor(
    readonly ws: WebSocketLike | undefined,
    readonly check: DiagnosticCheck,
  ) {
    if (!ws) return;
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') this.frames.push(JSON.parse(event.data) as ServerFrame);
      this.wake?.();
    };
    ws.onclose = (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake?.();
    };
  }

  static async open(options: ResolvedOptions, timeoutMs: number): Promise<Probe> {
    const started = Date.now();
    try {
      const Impl = await resolveWebSocket(options.WebSocket);
      const ws = new Impl(options.url);
      const outcome = await new Promise<string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(`no upgrade within ${timeoutMs} ms`), timeoutMs);
        const settle = (why: string | undefined) => {
          clearTimeout(timer);
          resolve(why);
        };
        ws.onopen = () => settle(undefined);
        ws.onclose = (event) => settle(`closed before open (code ${event.code})`);
        ws.onerror = () => {};
      });
      const ms = Date.now() - started;
      if (outcome === undefined) return new Probe(ws, { ok: true, ms, detail: `upgraded in ${ms} ms` });
      ws.close();
      return new Probe(undefined, { ok: false, ms, detail: outcome });
    } catch (error) {
      return new Probe(undefined, { ok: false, ms: Date.now() - started, detail: (error as Error).message });
    }
  }

  async authenticate(
    getToken: () => Promise<string | undefined>,
    timeoutMs: number,
  ): Promise<DiagnosticCheck> {
    const started = Date.now();
    let token: string | undefined;
    try {
      token = await getToken();
    } catch (error) {
      const e =
        error instanceof TetherClientError
          ? error
          : new TetherClientError('TOKEN_UNAVAILABLE', { cause: error });
      return { ok: false, detail: e.message, error: e.toJSON() };
    }
    this.ws?.send(JSON.stringify({ type: 'hello', token, client: { name: 'tether-js diagnose' } }));
    const frame = await this.next((f) => f.type === 'welcome' || f.type === 'error', timeoutMs);
    const ms = Date.now() - started;
    if (frame?.type === 'welcome') return { ok: true, ms, detail: `authenticated as ${frame.userId}` };
    const error =
      frame?.type === 'error'
        ? TetherClientError.fromFrame(frame)
        : this.closed
          ? classifyClose(this.closed.code, this.closed.reason)
          : new TetherClientError('CONNECT_TIMEOUT');
    return { ok: false, ms, detail: `${error.code}: ${error.message}`, error: error.toJSON() };
  }

  async ping(timeoutMs: number): Promise<{ rttMs: number; skewMs: number } | undefined> {
    const ts = Date.now();
    this.ws?.send(JSON.stringify({ type: 'ping', ts }));
    const pong = await this.next((f) => f.type === 'pong' && f.ts === ts, timeoutMs);
    if (pong?.type !== 'pong') return undefined;
    const rttMs = Date.now() - ts;
    return { rttMs, skewMs: Math.round(pong.serverTime - (ts + rttMs / 2)) };
  }

  close(): void {
    try {
      if (this.ws?.readyState === 1) this.ws.send(JSON.stringify({ type: 'bye' }));
      this.ws?.close(1000, 'diagnose done');
    } catch {
      // already closed
    }
  }

  private async next(
    match: (f: ServerFrame) => boolean,
    timeoutMs: number,
  ): Promise<ServerFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      if (this.closed || Date.now() >= deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
}
