/**
 * Sessions for the control-order tests (control.test.ts over WebSocket, control-sse.test.ts
 * over the SSE fallback): a hello at a gateway's endpoint and its first answer, a session
 * of a user, and the coded end an order gives it.
 */
import { afterEach, expect } from 'vitest';
import type { ErrorFrame, WelcomeFrame } from '../../src/shared/frames.ts';
import { mintToken } from './gateway.ts';
import { TestClient } from './ws-client.ts';

/** Where a client of the transport under test connects. */
export type Endpoint = (gw: { url: string; sseUrl: string }) => string;

/** Clients opened through `hello` and `session` are dropped after each test (the hook is registered here). */
export function controlSessions(endpoint: Endpoint) {
  const clients: TestClient[] = [];
  afterEach(() => {
    for (const client of clients.splice(0)) client.drop();
  });

  /** The first answer to `frame`: welcome, or the error that refused it (RESUME_EXPIRED comes before a welcome). */
  async function hello(gw: { url: string; sseUrl: string }, frame: Record<string, unknown>) {
    const client = await TestClient.connect(endpoint(gw));
    clients.push(client);
    client.send({ type: 'hello', ...frame });
    const first = await client.next(
      (f) => f.type === 'welcome' || (f.type === 'error' && f.code !== 'RESUME_EXPIRED'),
    );
    return {
      client,
      welcome: first.type === 'welcome' ? first : undefined,
      error: first.type === 'error' ? first : undefined,
    };
  }

  /** A welcomed session of `sub`. */
  async function session(
    gw: { url: string; sseUrl: string },
    sub: string,
    claims: { channels?: string[] } = {},
  ) {
    const { client, welcome } = await hello(gw, {
      token: await mintToken({ sub, ...claims }),
      client: { name: sub },
    });
    if (!welcome) throw new Error('no welcome');
    return { client, welcome };
  }

  /** Keep `client` to drop after the test. */
  const track = (client: TestClient) => clients.push(client);

  return { hello, session, track };
}

export const resumeOf = (welcome: WelcomeFrame) => ({
  sessionId: welcome.sessionId,
  resumeToken: welcome.resumeToken,
});

/** The error frame `code`, then the close `closeCode`: how an order ends a session. */
export async function closedWith(client: TestClient, code: string, closeCode: number): Promise<ErrorFrame> {
  const error = (await client.next((f) => f.type === 'error' && f.code === code)) as ErrorFrame;
  expect((await client.waitClosed()).code).toBe(closeCode);
  return error;
}
