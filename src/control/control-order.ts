/**
 * What the backend can order about live sessions (the control routes, control-routes.ts).
 * An order is broadcast to every gateway process on the control bus
 * (src/redis/control-bus.ts), and each carries it out on the sessions it holds
 * (session-control.ts): a session is reached wherever it lives.
 */

/** Every session of a user, or one session. */
export type ControlTarget = { userId: string } | { sessionId: string };

export type ControlOrder =
  /** Close the transport; `resumable: false` ends the session for good. */
  | { kind: 'disconnect'; target: ControlTarget; resumable: boolean; reason?: string }
  /**
   * Subscribe live sessions to `channel` (a server-side subscription), or unsubscribe them.
   * `from`: where a subscription starts, the channel's newest event when the order was given,
   * so what is published once the backend has its answer is delivered, however long the order
   * takes to reach the session; absent, from when it arrives (a channel with no replay).
   */
  | {
      kind: 'subscribe' | 'unsubscribe';
      target: ControlTarget;
      channel: string;
      from?: { after: string; epoch: string };
    }
  /** The user is blocked: every session of theirs ends. */
  | { kind: 'block'; userId: string; reason?: string }
  /** Tokens of the user issued before `before` (ms) are revoked: connections on them close. */
  | { kind: 'revoke'; userId: string; before: number };
