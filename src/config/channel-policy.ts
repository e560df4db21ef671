/**
 * What a channel allows, by its namespace (the name up to the first `:`): history
 * retention, presence, who may publish, replay, a subscriber cap. The core asks the
 * policy for a channel's options wherever a rule applies; namespaces.ts builds it
 * from the configuration (CONFIG_FILE namespaces, environment defaults for channels
 * outside any namespace).
 */

export interface ChannelOptions {
  /** Events kept per channel (approximate MAXLEN). */
  historyMaxEvents: number;
  /** Events older than this are trimmed, ms; 0: kept until historyMaxEvents pushes them out. */
  historyMaxAgeMs: number;
  /** Who is subscribed is tracked and can be asked. */
  presence: boolean;
  /** Subscribers hear joins and leaves (needs presence). */
  joinLeave: boolean;
  /** Who may publish: clients whose token allows it, or only the backend (POST /publish). */
  publish: 'clients' | 'backend';
  /** Subscribers may ask for events from a position (`from`, resume). */
  replay: boolean;
  /** Subscribers a channel may have across every process; 0: no cap. */
  maxSubscribers: number;
  /** Live events reach each socket in `batch` frames, one per event-loop turn at most. */
  batch: boolean;
  /** Live only: not logged, not replayed, dropped rather than closing a backed-up subscriber. */
  ephemeral: boolean;
}

export type ChannelPolicy = (channel: string) => ChannelOptions;

/** The namespace of a channel: its name up to the first `:` (the whole name when there is none). */
export function namespaceOf(channel: string): string {
  const colon = channel.indexOf(':');
  return colon < 0 ? channel : channel.slice(0, colon);
}
