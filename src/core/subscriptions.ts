/**
 * subscribe / unsubscribe, and the resume of a session's channels: each one is
 * planned (was the client's position trimmed away?), announced with a
 * `subscribed` frame, replayed, then switched to live delivery.
 */

import { namespaceOf } from '../config/channel-policy.ts';
import { INBOX_PREFIX, inboxChannel, type SubscribeFrame, type UnsubscribeFrame } from '../shared/frames.ts';
import { connectionMayRead } from './channel-access.ts';
import { codedFailure } from './coded-failure.ts';
import type { Connection } from './connection.ts';
import type { LiveMode } from './direct-delivery.ts';
import type { GatewayCore } from './gateway-core.ts';
import type { EventStore, ReplayPlan } from './ports/event-store.ts';
import type { ChannelPosition } from './ports/session-store.ts';
import { type ReplayTarget, replayThenGoLive } from './replay.ts';

/** How `channel`'s live events reach `conn` (src/core/direct-delivery.ts). */
function liveMode(core: GatewayCore, conn: Connection, channel: string): LiveMode {
  const policy = core.policy(channel);
  return { ephemeral: policy.ephemeral, batch: conn.batching || policy.batch };
}

function replayTarget(core: GatewayCore, conn: Connection): ReplayTarget {
  return {
    isOpen: () => conn.isOpen,
    // Queued, then written corked in one write (Connection.flushQueued), after whatever was queued before.
    sendTexts: (texts) => {
      for (const text of texts) conn.sendSoon(text);
      conn.flushQueued();
      return conn.isOpen;
    },
    mustDrain: () => !conn.writable(),
    whenWritable: () => conn.whenWritable(),
    room: () => conn.room(),
    wants: (channel) => conn.subscriptions.has(channel),
    subscribeLive: (channel) => core.direct.goLive(conn, channel, liveMode(core, conn, channel)),
    missed: (channel) =>
      conn.close('SERVICE_RESTART', { detail: `events of ${channel} were trimmed during the replay` }),
  };
}

/**
 * Join the channel's live read and its subscriber count, announce, replay from `after`
 * (or from now), go live; returns events replayed. A `resumed` session's channel is
 * counted past the namespace's cap: the session had it.
 */
async function attach(
  core: GatewayCore,
  conn: Connection,
  channel: string,
  plan: ReplayPlan | undefined,
  ref?: string,
  resumed = false,
): Promise<number> {
  const { feed, events, sessions, occupancy } = core.ports;
  const cap = core.policy(channel).maxSubscribers;
  conn.setSubscription(channel, plan?.after ?? '');
  conn.startReplaying(channel);
  let admitted: boolean;
  try {
    [admitted] = await Promise.all([occupancy.enter(channel, conn.id, cap, resumed), feed.join(channel)]);
  } catch (error) {
    conn.logger.warn({ err: error, channel }, 'subscribe: event store unavailable');
    return refused(core, conn, channel, 'STORE_UNAVAILABLE', { ref });
  }
  if (!admitted) {
    const detail = `${channel}: ${cap} subscribers (maxSubscribers of namespace "${namespaceOf(channel)}")`;
    return refused(core, conn, channel, 'CHANNEL_FULL', { ref, detail });
  }
  if (!conn.isOpen || !conn.subscriptions.has(channel)) {
    if (!conn.isOpen) return 0; // the close already released what this socket held
    feed.leave(channel); // unsubscribed while joining (which took the count back)
    return 0;
  }
  const after = plan?.after ?? (feed.cursor(channel) as string);
  const epoch = plan?.epoch ?? (feed.epoch(channel) as string);
  conn.setSubscription(channel, after);
  conn.setSubscriptionEpoch(channel, epoch);
  const server = conn.serverChannels.has(channel) || undefined;
  conn.send({ type: 'subscribed', ref, channel, recovered: plan?.recovered ?? true, after, epoch, server });
  answered(conn, channel);
  if (conn.sessionId) {
    sessions
      .saveChannel(conn.sessionId, conn.id, channel, { after, epoch, server })
      .catch((error) => conn.logger.warn({ err: error }, 'session store: saveChannel failed'));
    const { principal, client } = conn;
    if (principal)
      core.ports.presence.subscribed(channel, {
        userId: principal.userId,
        sessionId: conn.sessionId,
        client: { ...client },
      });
  }
  let replayed = 0;
  try {
    replayed = await replayThenGoLive(feed, events, replayTarget(core, conn), channel, after);
    core.lifecycle.replayed(replayed);
    if (replayed > 0) conn.logger.debug({ channel, replayed }, 'replayed');
  } catch (error) {
    conn.logger.warn({ err: error, channel }, 'replay failed; closing so the client resumes');
    conn.close(codedFailure(error, core.ports.readiness).code, { detail: 'replay interrupted' });
  } finally {
    conn.stopReplaying(channel);
  }
  if (conn.isOpen && !conn.subscriptions.has(channel)) {
    core.direct.stopLive(conn, channel); // unsubscribed during replay
    feed.leave(channel);
  }
  return Math.max(0, replayed);
}

/** The attach could not go on: release what it took (unless the close already did) and say why. */
function refused(
  core: GatewayCore,
  conn: Connection,
  channel: string,
  code: 'STORE_UNAVAILABLE' | 'CHANNEL_FULL',
  extra: { ref?: string; detail?: string },
): number {
  conn.stopReplaying(channel);
  if (conn.isOpen) {
    // An unsubscribe meanwhile took the count back, and left the feed to us.
    if (conn.deleteSubscription(channel)) core.ports.occupancy.leave(channel, conn.id);
    core.ports.feed.leave(channel);
  }
  conn.fail(code, extra);
  return 0;
}

/** A subscribe under way: done once it ends (its replay too); answered once its client heard. */
interface Planned {
  done: Promise<void>;
  answered: Promise<void>;
  answer(): void;
}

/** Subscribes still under way, per connection: a second one for the channel waits for the first. */
const planning = new WeakMap<Connection, Map<string, Planned>>();

/** The subscribe of `channel` under way was answered (`subscribed`, or its error). */
function answered(conn: Connection, channel: string): void {
  planning.get(conn)?.get(channel)?.answer();
}

/** Channels held or being subscribed (a burst of subscribes in flight counts too). */
function subscribedOrPlanned(conn: Connection): number {
  let count = conn.subscriptions.size;
  for (const channel of planning.get(conn)?.keys() ?? []) if (!conn.subscriptions.has(channel)) count++;
  return count;
}

/** A channel's step under way: `finished` when all its work is done, `answered` once its client heard. */
interface ChannelStep<T> {
  finished: Promise<T>;
  answered: Promise<void>;
}

/** Per connection and channel: when the last subscribe or unsubscribe received has been answered. */
const lastAnswered = new WeakMap<Connection, Map<string, Promise<void>>>();

const DONE = Promise.resolve();

/**
 * Run a step of `channel` — a resumed session's channel, a subscribe, an unsubscribe — once
 * every earlier one of that channel has been answered, so the answers come in the order
 * asked and the last frame decides whether the channel is held: subscribe, subscribe,
 * unsubscribe ends unsubscribed, though the second subscribe waits for the first one's
 * replay. With nothing unanswered it runs at once. Resolves when the step's work is done
 * (undefined when the socket closed before it could start).
 */
function inChannelOrder<T>(
  conn: Connection,
  channel: string,
  step: () => ChannelStep<T>,
): Promise<T | undefined> {
  let tails = lastAnswered.get(conn);
  if (!tails) {
    tails = new Map();
    lastAnswered.set(conn, tails);
  }
  const earlier = tails.get(channel);
  let current: ChannelStep<T | undefined>;
  if (earlier === undefined) current = step();
  else {
    const closed: ChannelStep<undefined> = { finished: Promise.resolve(undefined), answered: DONE };
    const started = earlier.then((): ChannelStep<T | undefined> => (conn.isOpen ? step() : closed));
    current = { finished: started.then((s) => s.finished), answered: started.then((s) => s.answered) };
  }
  const tail = current.answered.catch(() => {});
  tails.set(channel, tail);
  void tail.then(() => {
    if (tails.get(channel) === tail) tails.delete(channel);
  });
  return current.finished;
}

export async function subscribe(core: GatewayCore, conn: Connection, frame: SubscribeFrame): Promise<void> {
  await inChannelOrder(conn, frame.channel, () =>
    subscribeStep(conn, frame.channel, () => subscribeNow(core, conn, frame)),
  );
}

/**
 * `work` as a step of its channel: answered with `subscribed` (or its error) before its
 * replay is done, when it planned one (`planned`, which `work` enters before it first waits).
 */
function subscribeStep<T>(conn: Connection, channel: string, work: () => Promise<T>): ChannelStep<T> {
  const underWay = planning.get(conn)?.get(channel);
  const finished = work();
  const own = planning.get(conn)?.get(channel);
  const answered = own && own !== underWay ? own.answered : finished;
  return { finished, answered: Promise.race([answered, finished]).then(() => {}) };
}

async function subscribeNow(core: GatewayCore, conn: Connection, frame: SubscribeFrame): Promise<void> {
  const { channel, ref } = frame;
  if (!connectionMayRead(conn, channel)) {
    conn.fail('FORBIDDEN_CHANNEL', { ref, detail: channel });
    return;
  }
  const pending = planning.get(conn)?.get(channel);
  if (pending) {
    await pending.done;
    if (conn.isOpen) await subscribeNow(core, conn, frame); // answered as a repeat, or retried if the first failed
    return;
  }
  if (conn.subscriptions.has(channel)) {
    const after = conn.subscriptions.get(channel) as string;
    conn.send({
      type: 'subscribed',
      ref,
      channel,
      recovered: true,
      after,
      epoch: core.ports.feed.epoch(channel) ?? '',
    });
    return;
  }
  const limit = core.config.maxSubscriptionsPerConnection;
  if (subscribedOrPlanned(conn) >= limit) {
    conn.fail('TOO_MANY_SUBSCRIPTIONS', {
      ref,
      detail: `${limit} channels (MAX_SUBSCRIPTIONS_PER_CONNECTION)`,
    });
    return;
  }
  await planned<unknown>(conn, channel, () =>
    frame.from === undefined
      ? attach(core, conn, channel, undefined, ref)
      : subscribeFrom(core, conn, channel, { after: frame.from, epoch: frame.epoch }, ref),
  );
}

/**
 * Run a subscribe of `channel` as the one under way for it: a second subscribe (or the
 * inbox's) waits until it is done; the channel's next step until it is answered (subscribeStep).
 */
async function planned<T>(conn: Connection, channel: string, work: () => Promise<T>): Promise<T> {
  let plans = planning.get(conn);
  if (!plans) {
    plans = new Map();
    planning.set(conn, plans);
  }
  let answer = () => {};
  const answered = new Promise<void>((resolve) => {
    answer = resolve;
  });
  const plan: Planned = { done: Promise.resolve(), answered, answer };
  plans.set(channel, plan);
  const result = work();
  plan.done = result.then(() => {});
  try {
    return await result;
  } finally {
    plan.answer(); // every way out answers (an error frame, a close)
    plans.delete(channel);
  }
}

/** A subscribe with `from`: was the position trimmed away? Then replay and go live. */
async function subscribeFrom(
  core: GatewayCore,
  conn: Connection,
  channel: string,
  from: ChannelPosition,
  ref?: string,
): Promise<void> {
  if (!core.ports.readiness.isReady()) {
    conn.fail('STORE_UNAVAILABLE', { ref });
    return;
  }
  let plan: ReplayPlan;
  try {
    plan = await core.ports.events.plan(channel, from.after, from.epoch, {
      replay: core.policy(channel).replay,
    });
  } catch (error) {
    conn.logger.warn({ err: error, channel }, 'subscribe: cannot plan replay');
    conn.fail('STORE_UNAVAILABLE', { ref });
    return;
  }
  if (conn.isOpen) await attach(core, conn, channel, plan, ref);
}

/**
 * Make sure the session's inbox (where action replies land) is delivered live. Actions
 * sent in a burst all wait for the first one's attach: the inbox counts as subscribed as
 * soon as it starts, but its position is taken once the feed has joined, and a reply
 * appended before that would fall behind it, never delivered.
 */
export async function subscribeInbox(core: GatewayCore, conn: Connection): Promise<boolean> {
  if (!conn.sessionId) return false;
  const channel = inboxChannel(conn.sessionId);
  const pending = planning.get(conn)?.get(channel);
  if (pending) await pending.done;
  else if (!conn.subscriptions.has(channel))
    await planned(conn, channel, () => attach(core, conn, channel, undefined));
  return conn.subscriptions.has(channel);
}

/**
 * Runs once the channel's earlier steps are answered (inChannelOrder), a resumed session's
 * channel among them: the resume's `subscribed` comes first, and this takes the channel back.
 */
export function unsubscribe(core: GatewayCore, conn: Connection, frame: UnsubscribeFrame): void {
  void inChannelOrder(conn, frame.channel, () => {
    unsubscribeNow(core, conn, frame);
    return { finished: DONE, answered: DONE };
  });
}

function unsubscribeNow(core: GatewayCore, conn: Connection, frame: UnsubscribeFrame): void {
  const { channel, ref } = frame;
  conn.deleteServerChannel(channel);
  if (conn.deleteSubscription(channel)) {
    core.direct.stopLive(conn, channel);
    core.ports.occupancy.leave(channel, conn.id);
    if (!conn.replaying.has(channel)) core.ports.feed.leave(channel);
    if (conn.sessionId) {
      core.ports.sessions.dropChannel(conn.sessionId, conn.id, channel).catch(() => {});
      core.ports.presence.unsubscribed(channel, conn.sessionId);
    }
  }
  conn.send({ type: 'unsubscribed', ref, channel });
}

/**
 * The backend subscribes this session to `channel` (src/control/): from now on, whatever
 * the token's `channels` claim says, and across resumes (the session records it). A
 * channel the client already has is only marked as the backend's.
 */
export async function subscribeByServer(
  core: GatewayCore,
  conn: Connection,
  channel: string,
  from?: { after: string; epoch: string },
): Promise<void> {
  if (channel.startsWith(INBOX_PREFIX)) return;
  conn.addServerChannel(channel);
  const after = conn.subscriptions.get(channel);
  if (after === undefined) {
    const position = from ? { from: from.after, epoch: from.epoch } : {};
    await subscribe(core, conn, { type: 'subscribe', channel, ...position });
    return;
  }
  if (conn.sessionId)
    await core.ports.sessions.saveChannel(conn.sessionId, conn.id, channel, {
      after,
      epoch: core.ports.feed.epoch(channel),
      server: true,
    });
}

/** Gap check for every channel of a resumed session at once, before welcome, so welcome can say `recovered`. */
export async function planChannels(
  core: GatewayCore,
  wanted: Map<string, ChannelPosition>,
): Promise<Map<string, ReplayPlan>> {
  const entries = await Promise.all(
    [...wanted].map(
      async ([channel, { after, epoch }]) =>
        [channel, await sharedPlan(core, channel, after, epoch, core.policy(channel).replay)] as const,
    ),
  );
  return new Map(entries);
}

/** Plans being read, per event store, by channel, position, epoch and replay policy. */
const plansUnderWay = new WeakMap<EventStore, Map<string, Promise<ReplayPlan>>>();

/**
 * `events.plan`, shared by the resumes that ask the same while it is under way: a storm
 * resumes thousands of sessions from the same position in the same channel. A shared
 * plan was read at most one round trip before the asker's own would have been: it runs
 * the races a plan read alone runs (a trim after the read is caught by the replay's
 * page check, replay.ts `missed`), over that round trip more.
 */
function sharedPlan(
  core: GatewayCore,
  channel: string,
  after: string,
  epoch: string | undefined,
  replay: boolean,
): Promise<ReplayPlan> {
  const { events } = core.ports;
  let plans = plansUnderWay.get(events);
  if (!plans) {
    plans = new Map();
    plansUnderWay.set(events, plans);
  }
  const key = JSON.stringify([channel, after, epoch ?? null, replay]);
  const underWay = plans.get(key);
  if (underWay) return underWay;
  const plan = events.plan(channel, after, epoch, { replay });
  plans.set(key, plan);
  const forget = () => plans.delete(key);
  plan.then(forget, forget);
  return plan;
}

/**
 * Welcome is out: replay what the attach step planned for the session's channels,
 * then go live; the resume's trace ends with the replay. A replay that fails closes
 * the socket so the client resumes again.
 */
export function replaySessionChannels(core: GatewayCore, conn: Connection): void {
  const pending = conn.pendingReplay;
  conn.pendingReplay = undefined;
  if (!pending) return;
  Promise.all(
    [...pending.plans].map(([channel, plan]) =>
      // A step of its channel, so the frames sent behind hello about it (run next) come after it.
      inChannelOrder(conn, channel, () =>
        subscribeStep(conn, channel, () =>
          planned(conn, channel, () => attach(core, conn, channel, plan, undefined, true)),
        ),
      ),
    ),
  ).then(
    (counts) => pending.trace?.finished(counts.reduce((total: number, count) => total + (count ?? 0), 0)),
    (error: unknown) => {
      pending.trace?.failed(error);
      const failure = codedFailure(error, core.ports.readiness);
      conn.logger[failure.code === 'INTERNAL' ? 'error' : 'warn']({ err: error }, 'resume failed');
      conn.close(failure.code, { detail: 'resume interrupted' });
    },
  );
}
