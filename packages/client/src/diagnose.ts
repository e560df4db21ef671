/**
 * `client.diagnose()`: the connection checks a support engineer would run, in
 * order, on a separate probe connection — health endpoint, WebSocket upgrade (and
 * the SSE fallback, as the client's own connection would take it), auth, admission,
 * round-trip latency, clock skew — as one structured report with a suggestion for
 * each problem found. The probe says `bye`, so its session ends.
 */

import type { ResolvedOptions } from './client-options.ts';
import { type HelloOutcome, Probe } from './diagnose-probe.ts';
import type { QueuedFrame } from './shared.ts';
import { errorSpec, isErrorCode } from './shared.ts';
import { TetherClientError } from './tether-client-error.ts';
import type { TransportName } from './transport-choice.ts';

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
  /** The transport the probe's auth, admission and pings ran over; undefined when none opened. */
  transport?: TransportName;
  checks: {
    health: DiagnosticCheck;
    /** The WebSocket upgrade (ok and "not tried" with `transport: 'sse'`). */
    upgrade: DiagnosticCheck;
    /** The SSE stream: with `transport: 'sse'`, or `'auto'` once the upgrade failed (the fallback the client takes). */
    sse?: DiagnosticCheck;
    auth: DiagnosticCheck;
    /** Let in by the gateway's admission control, or held in its queue (see `queue`). */
    admission: DiagnosticCheck;
    latency: DiagnosticCheck;
    clockSkew: DiagnosticCheck;
  };
  /** The last `queued` frame the probe got: where it stood in the gateway's admission queue. */
  queue?: { position: number; estimatedWaitMs: number };
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

const skipped = (why: string): DiagnosticCheck => ({ ok: false, detail: `skipped: ${why}` });

export async function diagnose(
  options: ResolvedOptions,
  getToken: () => Promise<string | undefined>,
  client: { state: string; lastError?: TetherClientError },
): Promise<DiagnosticReport> {
  const timeoutMs = options.connectTimeoutMs;
  const report: DiagnosticReport = {
    ok: false,
    at: new Date().toISOString(),
    url: options.url,
    httpUrl: options.httpUrl,
    client: { state: client.state, lastError: client.lastError?.toJSON() },
    checks: {
      health: await checkHealth(options.httpUrl, timeoutMs),
      upgrade: skipped('upgrade not attempted'),
      auth: skipped('no connection opened'),
      admission: skipped('not authenticated'),
      latency: skipped('not admitted'),
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

  const probe = await openProbe(options, timeoutMs, report);
  if (probe.ws) {
    try {
      if (await handshake(probe, getToken, timeoutMs, report)) await measure(probe, timeoutMs, report);
    } finally {
      probe.close();
    }
  }
  report.ok = Object.values(checks).every((c) => c.ok);
  return report;
}

/**
 * The probe on the transport the client would use: WebSocket, then (`transport: 'auto'`) the
 * SSE fallback when the upgrade failed — so auth, admission and latency are checked over the
 * path the client's own connection takes.
 */
async function openProbe(options: ResolvedOptions, timeoutMs: number, report: DiagnosticReport) {
  const { checks, suggestions } = report;
  const fallback = options.transport === 'auto';
  if (options.transport === 'sse') {
    checks.upgrade = { ok: true, detail: "not tried: the client is set to transport: 'sse'" };
  } else {
    // In auto mode the client gives the upgrade upgradeTimeoutMs before it falls back.
    const upgrade = await Probe.open(options, 'websocket', fallback ? options.upgradeTimeoutMs : timeoutMs);
    checks.upgrade = upgrade.upgrade;
    if (upgrade.ws) {
      report.transport = 'websocket';
      return upgrade;
    }
    const failed =
      'The WebSocket upgrade failed: check the /ws path, TLS (wss://), and proxies or firewalls that strip Upgrade headers.';
    suggestions.push(failed);
    if (!fallback) return upgrade;
    const at = suggestions.length - 1;
    const probe = await openSse(options, timeoutMs, report);
    // Only a fallback that opened carried the checks after it.
    if (probe.ws)
      suggestions[at] =
        `${failed} The client falls back to server-sent events; the checks after it ran over that.`;
    return probe;
  }
  return openSse(options, timeoutMs, report);
}

/** The SSE fallback's probe: `sse` in the checks, and a suggestion when it did not open. */
async function openSse(options: ResolvedOptions, timeoutMs: number, report: DiagnosticReport) {
  const probe = await Probe.open(options, 'sse', timeoutMs);
  report.checks.sse = probe.upgrade;
  if (probe.ws) report.transport = 'sse';
  else
    report.suggestions.push(
      `The SSE stream (${options.sseUrl}) did not open: check the URL and proxies that buffer or block streamed responses.`,
    );
  return probe;
}

/** Auth and admission from one hello; true when welcomed, so the pings can run. */
async function handshake(
  probe: Probe,
  getToken: () => Promise<string | undefined>,
  timeoutMs: number,
  report: DiagnosticReport,
): Promise<boolean> {
  const { checks, suggestions } = report;
  const authFailed = (error: TetherClientError, ms?: number): false => {
    checks.auth = { ok: false, ms, detail: `${error.code}: ${error.message}`, error: error.toJSON() };
    suggestions.push(`Auth: ${error.recovery}`);
    return false;
  };
  let token: string | undefined;
  try {
    token = await getToken();
  } catch (error) {
    return authFailed(
      error instanceof TetherClientError
        ? error
        : new TetherClientError('TOKEN_UNAVAILABLE', { cause: error }),
    );
  }
  const outcome = await probe.hello(token, timeoutMs);
  if (outcome.queued) {
    const { position, estimatedWaitMs } = outcome.queued;
    report.queue = { position, estimatedWaitMs };
  }
  // The gateway verifies the token before admission: a queued or admission-refused probe passed auth.
  if (outcome.kind === 'refused' && !outcome.queued && !isAdmissionRefusal(outcome.error))
    return authFailed(outcome.error, outcome.ms);
  if (outcome.kind === 'timeout' && !outcome.queued)
    return authFailed(new TetherClientError('CONNECT_TIMEOUT'), outcome.ms);
  checks.auth =
    outcome.kind === 'welcome'
      ? { ok: true, ms: outcome.ms, detail: `authenticated as ${outcome.welcome.userId}` }
      : { ok: true, detail: 'token accepted' };
  checks.admission = admission(outcome);
  if (!checks.admission.ok) {
    const where = outcome.queued ? ` (position ${outcome.queued.position} in its admission queue)` : '';
    suggestions.push(
      `Admission: the gateway is at capacity${where}. Clients wait in line and are admitted by priority as slots free; if this persists, add gateway capacity.`,
    );
  }
  return outcome.kind === 'welcome';
}

/** Refusals that mean "full, try later" (close 1013), as opposed to "not you". */
function isAdmissionRefusal(error: TetherClientError): boolean {
  return isErrorCode(error.code) && errorSpec(error.code).closeCode === 1013;
}

function admission(outcome: HelloOutcome): DiagnosticCheck {
  const at = (q: QueuedFrame) => `position ${q.position}, about ${seconds(q.estimatedWaitMs)} more`;
  switch (outcome.kind) {
    case 'welcome':
      return outcome.queued
        ? { ok: true, ms: outcome.ms, detail: `admitted after ${outcome.ms} ms in the admission queue` }
        : { ok: true, ms: outcome.ms, detail: 'admitted at once' };
    case 'timeout':
      return {
        ok: false,
        ms: outcome.ms,
        detail: `still in the admission queue after ${outcome.ms} ms: ${outcome.queued ? at(outcome.queued) : 'no position'}`,
      };
    case 'refused':
      return {
        ok: false,
        ms: outcome.ms,
        detail: `${outcome.error.code}: ${outcome.error.message}${outcome.queued ? ` (last at ${at(outcome.queued)})` : ''}`,
        error: outcome.error.toJSON(),
      };
  }
}

/** Latency and clock skew from a few pings on the admitted probe. */
async function measure(probe: Probe, timeoutMs: number, report: DiagnosticReport): Promise<void> {
  const { checks, suggestions } = report;
  const skews: number[] = [];
  for (let i = 0; i < PINGS; i++) {
    const sample = await probe.ping(timeoutMs);
    if (!sample) break;
    report.latencySamplesMs.push(sample.rttMs);
    skews.push(sample.clockSkewMs);
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
  report.clockSkewMs = median(skews);
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

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))} s`;
}
