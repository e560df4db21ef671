/**
 * Names and IDs of the protocol, with no schema library attached, so the client
 * SDK's browser bundle can use them without pulling in TypeBox.
 */

/** Channel names: letters, digits and `_ . : -`, 1–128 characters; no wildcards. */
export const CHANNEL_PATTERN = '^[A-Za-z0-9_.:\\-]{1,128}$';

/**
 * Event IDs are Redis stream IDs: `<milliseconds>-<sequence>`, ordered per channel,
 * each part an unsigned 64-bit number. The pattern is the shape; `isEventId` also
 * checks the range (20 digits reach past 2^64 − 1).
 */
export const EVENT_ID_PATTERN = '^[0-9]{1,20}-[0-9]{1,20}$';

/** The largest part of an event ID: 2^64 − 1. */
export const MAX_ID_PART = '18446744073709551615';

const EVENT_ID = new RegExp(EVENT_ID_PATTERN);

/** A well-formed event ID whose both parts are at most 2^64 − 1 (what Redis accepts). */
export function isEventId(id: string): boolean {
  if (!EVENT_ID.test(id)) return false;
  const dash = id.indexOf('-');
  return (
    compareDecimal(id, 0, dash, MAX_ID_PART, 0, MAX_ID_PART.length) <= 0 &&
    compareDecimal(id, dash + 1, id.length, MAX_ID_PART, 0, MAX_ID_PART.length) <= 0
  );
}

/** The longest user ID (a token's `sub`), counted as JavaScript counts a string's length. */
export const MAX_USER_ID_LENGTH = 256;

/** A UTF-16 surrogate with no partner: text that has no UTF-8 form. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `value` is not a user ID, or undefined when it is one. A user ID, the tokens' `sub`, is any
 * well-formed text of 1–256 characters. The one rule for both ends: hello refuses a token whose
 * `sub` breaks it, so every user a session has is one the control routes (`/users/:userId/…`) can
 * name. Well-formed, because a user ID travels as UTF-8 (Redis keys, URLs): a lone surrogate
 * (`"\ud800"` in a token's JSON) would be written as U+FFFD, sharing its sessions, block and
 * revocation with every other such user, and no URL could name it.
 */
export function userIdProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_USER_ID_LENGTH)
    return `a user ID is 1–${MAX_USER_ID_LENGTH} characters (got ${value.length})`;
  if (LONE_SURROGATE.test(value)) return 'a user ID must be well-formed Unicode (it has a lone surrogate)';
  return undefined;
}

export function isUserId(value: string): boolean {
  return userIdProblem(value) === undefined;
}

/** How deep a frame's JSON may nest (objects and arrays, the frame itself included). */
export const MAX_NESTING_DEPTH = 64;

/** A channel log's epoch: letters, digits, `_` and `-`, 1–32 characters. */
export const EPOCH_PATTERN = '^[A-Za-z0-9_-]{1,32}$';

/** Action names: like channel names. */
export const ACTION_NAME_PATTERN = '^[A-Za-z0-9_.:\\-]{1,128}$';

/**
 * 1–128 visible ASCII characters (`!`–`~`): the rule for the strings a client chooses that the
 * gateway copies into log lines, span attributes, BullMQ jobs and stored entries, so no control
 * character (a newline forges a pretty-printed log line), space or non-ASCII gets there.
 */
const VISIBLE_ASCII_PATTERN = '^[!-~]{1,128}$';

/**
 * A correlation ID, wherever a client gives one (hello's `correlationId`, the `x-correlation-id`
 * header on an upgrade, `GET /sse` or any HTTP route).
 */
export const CORRELATION_ID_PATTERN = VISIBLE_ASCII_PATTERN;

/**
 * An idempotency key (docs/protocol.md, "publish"). A repeat of a publish with the same key on
 * the same channel, within the window, is answered with the first one's ID and appends nothing.
 */
export const IDEMPOTENCY_KEY_PATTERN = VISIBLE_ASCII_PATTERN;

const CORRELATION_ID = new RegExp(CORRELATION_ID_PATTERN);

/** The one test of a client's correlation ID (the hello schema carries the same pattern). */
export function isCorrelationId(value: string): boolean {
  return CORRELATION_ID.test(value);
}

/** Events a history page holds at most (`limit`, on the socket and over HTTP). */
export const MAX_HISTORY_LIMIT = 1000;

/** Members in one page of a channel's presence: `limit` defaults to the first, may be up to the second (0: the count alone). */
export const PRESENCE_PAGE_DEFAULT = 100;
export const PRESENCE_PAGE_MAX = 1000;

/** A presence page's cursor: opaque to clients (it is the last member's session ID). */
export const PRESENCE_CURSOR_PATTERN = '^[A-Za-z0-9_.:\\-]{1,64}$';

/** The inbox channel of a session, where action replies land. */
export const inboxChannel = (sessionId: string) => `inbox:${sessionId}`;
export const INBOX_PREFIX = 'inbox:';

/**
 * Compare two stream IDs numerically: negative when a < b. Runs once per event
 * delivered, so it compares digits in place instead of splitting and parsing
 * (BigInt: the parts are 64-bit, past 2^53).
 */
export function compareEventIds(a: string, b: string): number {
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  const aMsEnd = aDash < 0 ? a.length : aDash;
  const bMsEnd = bDash < 0 ? b.length : bDash;
  return (
    compareDecimal(a, 0, aMsEnd, b, 0, bMsEnd) ||
    compareDecimal(a, aMsEnd + 1, a.length, b, bMsEnd + 1, b.length)
  );
}

const ZERO = 48; // '0'

/** Compare the unsigned decimals a[aFrom, aTo) and b[bFrom, bTo); an empty one is 0. */
function compareDecimal(
  a: string,
  aFrom: number,
  aTo: number,
  b: string,
  bFrom: number,
  bTo: number,
): number {
  while (aFrom < aTo && a.charCodeAt(aFrom) === ZERO) aFrom++;
  while (bFrom < bTo && b.charCodeAt(bFrom) === ZERO) bFrom++;
  const aLength = Math.max(0, aTo - aFrom);
  const bLength = Math.max(0, bTo - bFrom);
  if (aLength !== bLength) return aLength < bLength ? -1 : 1;
  for (let i = 0; i < aLength; i++) {
    const diff = a.charCodeAt(aFrom + i) - b.charCodeAt(bFrom + i);
    if (diff !== 0) return diff < 0 ? -1 : 1;
  }
  return 0;
}
