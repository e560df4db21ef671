/**
 * Two real gateway processes (`src/main.ts`, gateway-process.ts) sharing one Redis
 * prefix, for what must hold across processes: a session held by one, asked about or
 * ordered through the other.
 */
import { TEST_ADMIN_KEY, TEST_API_KEY } from './gateway.ts';
import { type GatewayProcess, processEnv, spawnGateway } from './gateway-process.ts';

export const ADMIN_KEY = TEST_ADMIN_KEY;
export const BACKEND_KEY = TEST_API_KEY;

export interface GatewayPair {
  a: GatewayProcess;
  b: GatewayProcess;
  /** Both processes' environment (NODE_ID aside): start a third like them with it. */
  env: Record<string, string>;
}

export async function spawnPair(overrides: Record<string, string> = {}): Promise<GatewayPair> {
  const env = processEnv(overrides);
  const [a, b] = await Promise.all([
    spawnGateway({ ...env, NODE_ID: 'gw-a' }),
    spawnGateway({ ...env, NODE_ID: 'gw-b' }),
  ]);
  return { a, b, env };
}

/** An HTTP call with a credential; resolves with the status and the JSON body. */
export async function call(
  url: string,
  init: { method?: string; body?: unknown; key?: string | null; rawBody?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const key = init.key === undefined ? BACKEND_KEY : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined && init.rawBody === undefined ? 'GET' : 'POST'),
    headers,
    body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
