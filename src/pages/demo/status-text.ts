/**
 * What the status indicator says for a client state — green ● connected, yellow
 * ◐ connecting/reconnecting (with a countdown), red ● failed with the reason,
 * grey ○ idle/closed; a connection on the SSE fallback says so. Pure, so the words are the same wherever they are shown.
 */
import type { ClientStateName } from '../../../packages/client/src/index.ts';

export interface StatusView {
  dot: '●' | '◐' | '○';
  text: string;
}

export interface StatusInput {
  state: ClientStateName;
  /** ms until the next reconnect attempt, when one is scheduled. */
  retryInMs?: number;
  attempt?: number;
  offline?: boolean;
  queue?: { position: number; estimatedWaitMs: number };
  errorCode?: string;
  /** The transport of the open socket (client.transport). */
  transport?: 'websocket' | 'sse';
  /** Why the page's room receives nothing though connected (a refusal's code); false or absent: it does. */
  roomProblem?: string | false;
}

export function statusView(input: StatusInput): StatusView {
  switch (input.state) {
    case 'connected': {
      const text = input.transport === 'sse' ? 'connected over SSE (fallback)' : 'connected';
      return { dot: '●', text: input.roomProblem ? `${text}, not subscribed: ${input.roomProblem}` : text };
    }
    case 'connecting':
      return input.queue
        ? {
            dot: '◐',
            text: `queued #${input.queue.position}, about ${seconds(input.queue.estimatedWaitMs)}`,
          }
        : { dot: '◐', text: 'connecting…' };
    case 'reconnecting':
      if (input.offline) return { dot: '◐', text: 'offline — waiting for the network' };
      return {
        dot: '◐',
        text: `reconnecting in ${seconds(input.retryInMs ?? 0)}${input.attempt ? ` (attempt ${input.attempt})` : ''}`,
      };
    case 'failed':
      return { dot: '●', text: `failed${input.errorCode ? `: ${input.errorCode}` : ''}` };
    case 'closed':
      return { dot: '○', text: 'disconnected' };
    default:
      return { dot: '○', text: 'idle' };
  }
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))} s`;
}
