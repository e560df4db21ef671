/** Where client actions go: a priority queue for backend workers (src/actions/). */

export interface ActionRequest {
  ref: string;
  name: string;
  sessionId: string;
  userId: string;
  tier: string;
  correlationId: string;
  data: unknown;
}

export interface ActionSink {
  /**
   * Queue the action. `listen` runs after the action was accepted and before it is
   * queued — the reply must not be able to slip past the socket; it resolves false
   * when the socket went away (the action is then dropped). Rejects with a TetherError
   * (ACTION_OVERLOADED, STORE_UNAVAILABLE).
   */
  submit(request: ActionRequest, listen: () => Promise<boolean>): Promise<void>;
}
