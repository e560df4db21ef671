/**
 * How many subscribers a channel has across every gateway process: what a namespace's
 * `maxSubscribers` caps, and what tells a channel became occupied (its first
 * subscriber) or vacated (its last one left). Implemented over Redis in
 * src/channels/channel-occupancy.ts; channels it does not track always have room.
 */
export interface ChannelOccupancy {
  /**
   * Count `member` (a connection) as a subscriber of `channel`. false (and nothing
   * counted) when `cap` > 0 and the channel already has `cap` subscribers across every
   * process, unless `force` (a resumed session keeps its channels whatever the count).
   * Rejects when the store cannot be reached.
   */
  enter(channel: string, member: string, cap: number, force: boolean): Promise<boolean>;
  /**
   * `member` no longer subscribes to `channel` (unsubscribed, or its socket closed).
   * May come before its `enter` settled: the count is then taken back once it has.
   */
  leave(channel: string, member: string): void;
}
