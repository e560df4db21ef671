/**
 * One pass over a frame's JSON text, before it is parsed: how deep it nests (so a
 * frame nested 30,000 levels is refused as malformed before anything recurses over
 * it), and where the top-level `data` member's value lies, so the event carries the
 * client's own text of it — delivered byte for byte as sent (numbers beyond double
 * precision included), without a parse and a stringify on the hot path.
 *
 * The scan trusts the text to be JSON: JSON.parse runs after it and refuses what is
 * not; a span read from text that fails to parse is never used.
 */

export interface FrameScan {
  /** Deepest nesting of objects and arrays (the top-level object is 1). */
  depth: number;
  /** The last top-level `data` member's value as [start, end) in the text (JSON.parse keeps the last too). */
  data?: [start: number, end: number];
}

const QUOTE = 34; // "
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;
const COLON = 58;

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/**
 * Scan `text`; undefined as soon as it nests deeper than `maxDepth` (the rest is not
 * read). `member` names the top-level member whose value span is wanted.
 */
export function scanFrame(text: string, maxDepth: number, member = 'data'): FrameScan | undefined {
  let depth = 0;
  let deepest = 0;
  let data: [number, number] | undefined;
  /** At depth 1: the next string is a member name (after `{` or `,`). */
  let expectName = false;
  /** The member whose value starts after the next `:` is the one wanted. */
  let wanted = false;
  let valueStart = -1;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      for (i++; i < length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
      if (depth === 1 && expectName) {
        expectName = false;
        wanted = nameIs(text, start + 1, i, member);
      }
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return undefined;
      if (depth > deepest) deepest = depth;
      if (depth === 1) expectName = c === OPEN_BRACE;
      continue;
    }
    if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 1 && valueStart >= 0) data = [valueStart, trimEnd(text, valueStart, i)];
      if (depth === 1) valueStart = -1;
      depth--;
      continue;
    }
    if (depth !== 1) continue;
    if (c === COLON && wanted) {
      wanted = false;
      let j = i + 1;
      while (j < length && isSpace(text.charCodeAt(j))) j++;
      valueStart = j;
    } else if (c === COMMA) {
      if (valueStart >= 0) data = [valueStart, trimEnd(text, valueStart, i)];
      valueStart = -1;
      expectName = true;
    }
  }
  return { depth: deepest, data };
}

/** The end of the value that runs from `start` to just before `end`, trailing whitespace cut. */
function trimEnd(text: string, start: number, end: number): number {
  let j = end;
  while (j > start && isSpace(text.charCodeAt(j - 1))) j--;
  return j;
}

/** Whether the member name in text[from, to) is `name` — escapes decoded as JSON.parse would. */
function nameIs(text: string, from: number, to: number, name: string): boolean {
  const raw = text.slice(from, to);
  if (!raw.includes('\\')) return raw === name;
  try {
    return JSON.parse(`"${raw}"`) === name;
  } catch {
    return false;
  }
}
