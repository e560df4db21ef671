/**
 * Pages of the event log shared by the replays of one process. A reconnect storm
 * resumes thousands of sockets from the same few positions within a second or two:
 * each asking Redis for the same page, and parsing the same reply, cost more CPU than
 * the rest of its resume. So a page read for (channel, after) is handed to every
 * replay that asks for it while the read is under way. A settled page is not kept:
 * after Redis lost its data (a restart without persistence) a kept page would hand
 * the lost stream's events to replays of the new one, as duplicates the client
 * cannot tell apart (test/integration/client-sdk-epochs.test.ts caught it).
 *
 * Why a page read earlier is still right for a replay that asks later: it holds the
 * events in (after, its until], and its `until` was a cursor, so every event up to it
 * had been appended by then — and no event can be appended below the newest ID. A
 * replay wanting less (a lower cursor) takes the events up to its own; one wanting
 * more takes the shared events if there are any and reads on from the last of them.
 * An empty shared page is never used for a longer range: that would skip its events.
 * A trim after the read removes nothing the replay gets, so `gap` stays true to what
 * the socket receives.
 */
import { compareEventIds } from '../shared/frames.ts';
import type { EventStore, LogPage } from './ports/event-store.ts';

interface Shared {
  until: string;
  count: number;
  page: Promise<LogPage>;
}

const pagesByStore = new WeakMap<EventStore, Map<string, Shared>>();

/**
 * `log.page(channel, after, until, count)`, shared with the replays that ask for the same page
 * while it is being read. The map holds only reads under way, so it needs no bound of its own:
 * it never outgrows the replays running.
 */
export async function sharedPage(
  log: EventStore,
  channel: string,
  after: string,
  until: string,
  count: number,
): Promise<LogPage> {
  let pages = pagesByStore.get(log);
  if (!pages) {
    pages = new Map();
    pagesByStore.set(log, pages);
  }
  const key = `${after} ${channel}`; // an event ID has no space
  const shared = pages.get(key);
  if (shared && shared.count === count) {
    if (compareEventIds(shared.until, until) >= 0) return upTo(await shared.page, until);
    const earlier = await shared.page.catch(() => undefined);
    if (earlier && earlier.events.length > 0) return earlier;
  }
  return read(log, pages, key, channel, after, until, count);
}

function read(
  log: EventStore,
  pages: Map<string, Shared>,
  key: string,
  channel: string,
  after: string,
  until: string,
  count: number,
): Promise<LogPage> {
  const page = log.page(channel, after, until, count);
  const entry: Shared = { until, count, page };
  pages.set(key, entry);
  const settled = () => {
    if (pages.get(key) === entry) pages.delete(key);
  };
  page.then(settled, settled);
  return page;
}

/** The page's events up to `until` (a page is oldest first, so what remains is still a prefix). */
function upTo(page: LogPage, until: string): LogPage {
  const last = page.events.at(-1);
  if (!last || compareEventIds(last.id, until) <= 0) return page;
  // It read past `until`, so it holds every event up to it.
  return {
    gap: page.gap,
    events: page.events.filter((event) => compareEventIds(event.id, until) <= 0),
    more: false,
  };
}
