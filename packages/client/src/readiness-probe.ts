/**
 * The gateway's readiness, as the client's machine asks for it (machines/client.machine.ts:
 * before a reconnect with `probeBeforeConnect`, after the attempts ran out, and to tell an
 * unreachable gateway from a broken token source): `GET <httpUrl>/readyz`, which the gateway
 * answers from any origin. 2xx is ready; 503 means draining or its Redis is down; any other
 * answer still proves the gateway is there (a proxy may hide /readyz), so the socket decides.
 */
import type { GatewayReadiness } from './shared.ts';

export async function probeReadiness(httpUrl: string, timeoutMs: number): Promise<GatewayReadiness> {
  try {
    const res = await fetch(`${httpUrl}/readyz`, {
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel().catch(() => {});
    return res.status === 503 ? 'not-ready' : 'ready';
  } catch {
    return 'unreachable'; // refused, DNS, no route, timeout
  }
}
