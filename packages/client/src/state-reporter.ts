/**
 * Turns machine snapshots into what the application hears: one `state` change
 * per top-level transition (never for substates or the transient `lost`), one
 * `TetherClientError` object per failure — the runtime's own when it has the
 * whole story (a close with its frame), else one built from the machine's code —
 * and an `error` only when the cause changes: a gateway down for ten minutes is
 * one GATEWAY_UNREACHABLE, not one per attempt.
 */
import type { SnapshotFrom } from 'xstate';
import type { ClientErrorCode } from './client-errors.ts';
import type { StateChange } from './client-events.ts';
import { type ClientContext, type ClientStateName, type clientMachine, topLevelState } from './shared.ts';
import { TetherClientError } from './tether-client-error.ts';

export class StateReporter {
  current: ClientStateName = 'idle';
  /** When the pending reconnect starts, ms since the epoch. */
  retryAt: number | undefined;
  /** The error that ended the last attempt (socket or token), as the runtime classified it. */
  lastSocketError: TetherClientError | undefined;
  /** The code of the last `error` announced since the last `connected`. */
  private announced: string | undefined;
  private reported: { failure?: ClientContext['lastError']; exhausted: boolean; error?: TetherClientError } =
    {
      exhausted: false,
    };

  /** The error behind the machine's `lastError` (the same object for the same failure). */
  errorFor(context: ClientContext): TetherClientError | undefined {
    const failure = context.lastError;
    if (!failure) return undefined;
    if (this.reported.failure !== failure || this.reported.exhausted !== context.exhausted) {
      // A failure the machine named itself (e.g. GATEWAY_UNREACHABLE after getToken() failed)
      // keeps what the runtime saw as its cause.
      let error =
        this.lastSocketError?.code === failure.code
          ? this.lastSocketError
          : new TetherClientError(failure.code as ClientErrorCode, { cause: this.lastSocketError });
      if (context.exhausted) {
        error = new TetherClientError('RECONNECT_EXHAUSTED', {
          cause: error,
          detail: `${context.attempt} attempts; last error ${error.code}: ${error.message}`,
        });
      }
      this.reported = { failure, exhausted: context.exhausted, error };
    }
    return this.reported.error;
  }

  /** Why the client is reconnecting or failed: every way into `lost` records a failure (machines/client.machine.ts). */
  private why(context: ClientContext): TetherClientError {
    return this.errorFor(context) ?? new TetherClientError('CONNECTION_CLOSED');
  }

  /** The change to announce, or undefined when the top-level state is the same. */
  next(snapshot: SnapshotFrom<typeof clientMachine>): StateChange | undefined {
    const { context } = snapshot;
    const newState = topLevelState(snapshot.value);
    if (newState === this.current) return undefined;
    const base = { oldState: this.current, attempt: context.attempt };
    this.current = newState;
    this.retryAt = undefined;
    let change: StateChange;
    if (newState === 'reconnecting') {
      const waiting = snapshot.matches({ reconnecting: 'waiting' });
      if (waiting) this.retryAt = Date.now() + context.retryDelayMs;
      change = {
        ...base,
        newState,
        error: this.why(context),
        ...(waiting && { retryInMs: context.retryDelayMs }),
      };
    } else if (newState === 'failed') {
      change = { ...base, newState, error: this.why(context) };
    } else {
      change = { ...base, newState };
    }
    if (newState === 'connected') {
      this.lastSocketError = undefined;
      this.announced = undefined;
    }
    return change;
  }

  /** The error to emit for this change: only when its cause differs from the last one announced. */
  errorToAnnounce(change: StateChange): TetherClientError | undefined {
    const error = change.error;
    if (!error || error.code === this.announced) return undefined;
    this.announced = error.code;
    return error;
  }
}
