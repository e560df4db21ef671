/**
 * Names and IDs of the protocol, with no schema library attached, so the client
 * SDK's browser bundle can use them without pulling in TypeBox.
 */

/** Channel names: letters, digits and `_ . : -`, 1–128 characters; no wildcards. */
export const CHANNEL_PATTERN = '^[A-Za-z0-9_.:\\-]{1,128}$';

/** Event IDs are Redis stream IDs: `<milliseconds>-<sequence>`, ordered per channel. */
export const EVENT_ID_PATTERN = '^[0-9]{1,20}-[0-9]{1,20}$';

/** Action names: like channel names. */
export const ACTION_NAME_PATTERN = '^[A-Za-z0-9_.:\\-]{1,128}$';

/** The inbox channel of a session, where action replies land. */
export const inboxChannel = (sessionId: string) => `inbox:${sessionId}`;
export const INBOX_PREFIX = 'inbox:';

/** Compare two stream IDs numerically: negative when a < b. */
export function compareEventIds(a: string, b: string): number {
  const [aMs = '0', aSeq = '0'] = a.split('-');
  const [bMs = '0', bSeq = '0'] = b.split('-');
  const ms = BigInt(aMs) - BigInt(bMs);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(aSeq) - BigInt(bSeq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
