/**
 * A hot channel's slot resharded under traffic (issue 14), on a real 3-master cluster:
 * backends publish to one channel steadily while its slot moves to another master
 * by hand, as `redis-cli --cluster reshard` does it (SETSLOT IMPORTING/MIGRATING,
 * MIGRATE a few keys at a time, SETSLOT NODE), with appends in every phase: on the
 * source while MIGRATING, by ASK on the target once the keys moved, by MOVED after.
 * A client subscribed on another gateway and a client that resumes after the move
 * get every acked event once, in order.
 *
 * Plain publishes are never refused. A publish with an idempotency key runs the append
 * script on two keys of the slot (the stream and the key's record), and Redis answers
 * a multi-key command on a slot being migrated with TRYAGAIN unless all its keys are on
 * the node asked — a new record exists on neither, so for as long as the slot is
 * migrating (on the source while MIGRATING, on the target by ASK). ioredis
 * retries TRYAGAIN (16 × 100 ms), then the publish is refused with the retryable
 * STORE_UNAVAILABLE, and the backend retries with the same key: nothing twice.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compareEventIds } from '../../src/shared/identifiers.ts';
import { configFile } from '../support/config-file.ts';
import { eventually, sleep } from '../support/events.ts';
import { mintToken, TEST_API_KEY } from '../support/gateway.ts';
import { type LoggedGateway, startLoggedGateway } from '../support/logged-gateway.ts';
import { type ClusterNode, startRedisCluster, type TestCluster } from '../support/redis-cluster.ts';
import { ids, TestClient } from '../support/ws-client.ts';

let cluster: TestCluster;
let a: LoggedGateway;
let b: LoggedGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
  const CONFIG_FILE = configFile({ namespaces: { room: { presence: true } } });
  a = await startLoggedGateway({ REDIS_URL: cluster.url, LOG_LEVEL: 'info', CONFIG_FILE });
  b = await startLoggedGateway({
    REDIS_URL: cluster.url,
    LOG_LEVEL: 'info',
    REDIS_PREFIX: a.prefix,
    CONFIG_FILE,
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients.splice(0)) client.drop();
  await Promise.all([a?.stop(), b?.stop()]);
  await cluster?.stop();
});

/**
 * A backend publishing one event at a time until stopped; a refused publish is kept
 * and retried (with the same idempotency key when `keyed`).
 */
function publishLoop(http: string, channel: string, keyed: boolean) {
  const acked: string[] = [];
  const refused: string[] = [];
  let stopped = false;
  const done = (async () => {
    let idempotencyKey = randomUUID();
    while (!stopped) {
      const body = { channel, data: { n: acked.length }, ...(keyed ? { idempotencyKey } : {}) };
      const res = await fetch(`${http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).catch((error: Error) => ({ status: 0, error }));
      if ('json' in res && res.status === 200) {
        acked.push(((await res.json()) as { id: string }).id);
        idempotencyKey = randomUUID();
      } else {
        refused.push('json' in res ? `${res.status} ${await res.text()}` : String(res.error));
        await sleep(50);
      }
    }
  })();
  const attempts = () => acked.length + refused.length;
  return {
    acked,
    refused,
    /** Until `count` more publishes were acked (or, with `attempted`, answered at all). */
    more: (count: number, attempted = false) => {
      const progress = attempted ? attempts : () => acked.length;
      const target = progress() + count;
      return eventually(() => progress() >= target, `${count} more publishes`, 20_000);
    },
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

async function masterOf(slot: number): Promise<ClusterNode> {
  const first = cluster.masters[0] as ClusterNode;
  const ranges = (await first.redis.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
  return cluster.masters.find((m) => m.port === port) as ClusterNode;
}

/** `key`'s slot, the master holding it, and another master to move it to. */
async function slotMove(key: string): Promise<{ slot: number; source: ClusterNode; target: ClusterNode }> {
  const first = cluster.masters[0] as ClusterNode;
  const slot = Number(await first.redis.cluster('KEYSLOT', key));
  const source = await masterOf(slot);
  return { slot, source, target: cluster.masters.find((m) => m !== source) as ClusterNode };
}

/** GET /channels/:channel/presence as a backend asks it. */
function askPresence(http: string, channel: string) {
  return fetch(`${http}/channels/${encodeURIComponent(channel)}/presence`, {
    headers: { authorization: `Bearer ${TEST_API_KEY}` },
  });
}

/** Mark `slot` as moving from `source` to `target` (IMPORTING, then MIGRATING), as a reshard starts. */
async function startMoving(slot: number, source: ClusterNode, target: ClusterNode) {
  const sourceId = String(await source.redis.cluster('MYID'));
  const targetId = String(await target.redis.cluster('MYID'));
  await target.redis.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
  await source.redis.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
}

/** Move `slot` from `source` to `target` as redis-cli's reshard does; `between` runs in each phase. */
async function moveSlot(
  slot: number,
  source: ClusterNode,
  target: ClusterNode,
  between: () => Promise<void>,
) {
  await startMoving(slot, source, target);
  const targetId = String(await target.redis.cluster('MYID'));
  await between(); // appends on the source, the keys still there
  for (;;) {
    // A few keys per MIGRATE, so the slot's keys are split between the masters for a while.
    const keys = (await source.redis.call('CLUSTER', 'GETKEYSINSLOT', slot, 5)) as string[];
    if (keys.length === 0) break;
    await source.redis.migrate('127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys);
  }
  await between(); // the keys are on the target: appends by ASK
  for (const node of [target, source, ...cluster.masters.filter((m) => m !== source && m !== target)])
    await node.redis.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
}

it('a hot channel’s slot moves to another master under traffic: every acked event once, in order, live and after a resume', async () => {
  const channel = `hot:${randomUUID().slice(0, 8)}`;
  const { slot, source, target } = await slotMove(`${a.prefix}:{c:${channel}}`);

  const token = await mintToken({ sub: 'reshard-watcher' });
  const subscribe = async (url: string) => {
    const started = await TestClient.session(url, { token });
    clients.push(started.client);
    started.client.send({ type: 'subscribe', channel, ref: 's' });
    await started.client.next((f) => f.type === 'subscribed' && f.ref === 's');
    return started;
  };
  const live = await subscribe(b.url);
  const leaving = await subscribe(a.url);

  const plain = publishLoop(a.http, channel, false);
  const keyed = publishLoop(b.http, channel, true);
  const both = (plainAcks: number) =>
    Promise.all([plain.more(plainAcks), keyed.more(1, true)]).then(() => {});
  await both(20);
  await leaving.client.waitForEvents(10, channel);
  leaving.client.drop();
  const seenBefore = ids(leaving.client.events(channel));
  const lastSeen = seenBefore[seenBefore.length - 1] as string;

  await moveSlot(slot, source, target, () => both(15));
  expect(await masterOf(slot)).toBe(target);
  expect(await source.redis.call('CLUSTER', 'COUNTKEYSINSLOT', slot)).toBe(0);
  await Promise.all([plain.more(15), keyed.more(3)]); // by MOVED, then from the new slot map
  await Promise.all([plain.stop(), keyed.stop()]);

  expect(plain.refused).toEqual([]);
  for (const refusal of keyed.refused) expect(refusal).toMatch(/^503 .*STORE_UNAVAILABLE/);
  const acked = [...plain.acked, ...keyed.acked].sort(compareEventIds);
  expect(new Set(acked).size).toBe(acked.length);

  await live.client.waitForEvents(acked.length, channel, 20_000);
  expect(ids(live.client.events(channel))).toEqual(acked);

  const resumed = await TestClient.session(b.url, {
    token,
    resume: {
      sessionId: leaving.welcome.sessionId,
      resumeToken: leaving.welcome.resumeToken,
      lastEventIds: { [channel]: lastSeen },
    },
  });
  clients.push(resumed.client);
  expect(resumed.welcome).toMatchObject({ resumed: true, recovered: true });
  const missed = acked.slice(acked.indexOf(lastSeen) + 1);
  await resumed.client.waitForEvents(missed.length, channel, 20_000);
  await sleep(200);
  expect(ids(resumed.client.events(channel))).toEqual(missed);
}, 90_000);

it('a backend’s presence query on a channel whose slot is migrating, with no member yet, is refused 503 STORE_UNAVAILABLE, not 500', async () => {
  // Its page script reads the channel's four presence keys, which exist on neither master:
  // Redis answers TRYAGAIN until the slot's move ends, ioredis gives up after its retries.
  const channel = `room:${randomUUID().slice(0, 8)}`;
  const { slot, source, target } = await slotMove(`${a.prefix}:{c:${channel}}`);
  const ask = () => askPresence(a.http, channel);

  await startMoving(slot, source, target);
  const refused = await ask();
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(await refused.json()).toMatchObject({ error: 'STORE_UNAVAILABLE', retryAfterMs: 1000 });
  expect(a.output()).not.toContain('backend route failed');

  await moveSlot(slot, source, target, async () => {});
  const answered = await ask();
  expect(answered.status).toBe(200);
  expect(await answered.json()).toMatchObject({ channel, count: 0, members: [] });
}, 30_000);

it('a member who subscribes while its channel’s slot migrates is listed once the slot has moved, not a lease refresh later', async () => {
  // The first member's join makes the channel's presence keys, which no master holds
  // while the slot migrates: Redis refuses the script (TRYAGAIN) until the move ends.
  const channel = `room:${randomUUID().slice(0, 8)}`;
  const { slot, source, target } = await slotMove(`${a.prefix}:{c:${channel}}`);
  const count = async () => ((await (await askPresence(b.http, channel)).json()) as { count?: number }).count;

  await startMoving(slot, source, target);
  const { client } = await TestClient.session(a.url, { token: await mintToken({ sub: 'mover' }) });
  clients.push(client);
  client.send({ type: 'subscribe', channel, ref: 's' });
  await client.next((f) => f.type === 'subscribed' && f.ref === 's');
  await sleep(2500); // past ioredis's retries of TRYAGAIN: the join's write failed
  await moveSlot(slot, source, target, async () => {});

  // The gateways' lease refresh (SESSION_LEASE_MS, 30 s) would join it again only later.
  await eventually(async () => (await count()) === 1, 'the member listed', 5000);
}, 30_000);

it('a user whose slot migrates still says hello: the block and revocation keys no master holds are read one by one', async () => {
  // Without the connection limits, whose writes could share the hello's auto-pipelined batch
  // to that master: ioredis follows no ASK in a batch that holds a write (redis/ioredis#2075).
  const quiet = await startLoggedGateway({
    REDIS_URL: cluster.url,
    REDIS_PREFIX: a.prefix,
    RATE_CONNECT_PER_IP: '0',
    RATE_CONNECT_PER_USER: '0',
  });
  try {
    const user = `mover-${randomUUID().slice(0, 8)}`;
    const { slot, source, target } = await slotMove(`${a.prefix}:{u:${user}}:blocked`);

    await startMoving(slot, source, target);
    const fresh = await TestClient.session(quiet.url, { token: await mintToken({ sub: user }) });
    clients.push(fresh.client);
    expect(fresh.welcome).toMatchObject({ type: 'welcome', resumed: false });
    await moveSlot(slot, source, target, async () => {});
  } finally {
    await quiet.stop();
  }
}, 30_000);

it('a publish Redis refuses without running it while its slot moves is told it was not written, not that a retry may store it twice', async () => {
  // With PUBLISH_ACK_REPLICAS the append goes in a pipeline with its WAIT, which ioredis does
  // not follow to the target when the stream has moved there (ASK); a new idempotency key is
  // refused TRYAGAIN (by ASK and TRYAGAIN until ioredis gives up). Neither ran the script.
  const acking = await startLoggedGateway({
    REDIS_URL: cluster.url,
    LOG_LEVEL: 'info',
    REDIS_PREFIX: a.prefix,
    PUBLISH_ACK_REPLICAS: '1',
    PUBLISH_ACK_TIMEOUT_MS: '200',
  });
  try {
    const channel = `refused:${randomUUID().slice(0, 8)}`;
    const stream = `${a.prefix}:{c:${channel}}`;
    const { slot, source, target } = await slotMove(stream);
    const publish = (http: string, idempotencyKey?: string) =>
      fetch(`${http}/publish`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TEST_API_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel, data: {}, idempotencyKey }),
      });
    expect((await publish(a.http)).status).toBe(200);

    await startMoving(slot, source, target);
    await source.redis.migrate('127.0.0.1', target.port, '', 0, 5000, 'KEYS', stream);
    const asked = await publish(acking.http);
    expect(asked.status).toBe(503);
    expect(((await asked.json()) as { message: string }).message).toMatch(
      /^Redis refused the append \(ASK .*\): the event was not written; retry$/,
    );
    const keyed = await publish(a.http, randomUUID());
    expect(keyed.status).toBe(503);
    expect(((await keyed.json()) as { message: string }).message).toMatch(
      /^Redis refused the append \(.*\): the event was not written; retry with the same idempotencyKey$/,
    );
    await moveSlot(slot, source, target, async () => {});
  } finally {
    await acking.stop();
  }
}, 30_000);
