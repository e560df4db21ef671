/**
 * Metrics (issue 4, "Tests"): `/metrics` is Prometheus text (our parser and
 * promtool's linter agree), and the counters move when a client connects, errs,
 * resumes, receives, and hits a limit. Deltas, so the order of tests is free.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishMany, settle, sleep } from '../support/events.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { type Exposition, parsePrometheusText, sampleValue } from '../support/prometheus-text.ts';
import { TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ MESSAGES_PER_SECOND: '20' });
});
afterAll(() => gw?.stop());

async function scrape(): Promise<Exposition> {
  const res = await fetch(`${gw.http}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(await res.text());
}

/** How much each metric moved while `act` ran. */
async function delta(act: () => Promise<void>) {
  const before = await scrape();
  await act();
  const after = await scrape();
  return (name: string, labels: Record<string, string> = {}) =>
    sampleValue(after, name, labels) - sampleValue(before, name, labels);
}

describe('/metrics', () => {
  it('is Prometheus text that promtool accepts, with our families typed', async () => {
    const res = await fetch(`${gw.http}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    const exposition = parsePrometheusText(text);
    expect(exposition.types.get('tether_errors_total')).toBe('counter');
    expect(exposition.types.get('tether_delivery_latency_seconds')).toBe('histogram');
    expect(exposition.types.get('tether_connections')).toBe('gauge');
    expect(exposition.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(sampleValue(exposition, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error, 'promtool is needed (Debian package prometheus)').toBeUndefined();
    // prom-client's own nodejs_active_*_total gauges are the only findings promtool may report.
    const findings = `${lint.stdout}${lint.stderr}`.split('\n').filter(Boolean);
    expect(findings.filter((line) => !/^nodejs_active_\w+_total non-counter/.test(line))).toEqual([]);
  });

  it('reports Redis as up with a measured round trip', async () => {
    const exposition = await scrape();
    expect(sampleValue(exposition, 'tether_redis_up')).toBe(1);
    expect(sampleValue(exposition, 'tether_redis_roundtrip_seconds_count')).toBeGreaterThanOrEqual(1);
    // Exactly one state is current (which one depends on this box's event-loop lag right now).
    expect(sampleValue(exposition, 'tether_pool_state')).toBe(1);
    expect(sampleValue(exposition, 'tether_pool_capacity')).toBe(10_000);
  });

  it('shows a single event-loop stall in tether_event_loop_stall_max_seconds to every scraper', async () => {
    // Not checked before the block: a stall of this process in the last minute (the gateway's
    // start on a busy CI box) may show already, and rightly so.
    const blockedUntil = Date.now() + 1500; // the gateway runs in this process: block it
    while (Date.now() < blockedUntil) {}
    await sleep(700); // the resource monitor's next sample (RESOURCE_SAMPLE_MS, 500) sees it
    // A dashboard polling /metrics reads it first; Prometheus, a second later, still sees it.
    expect(sampleValue(await scrape(), 'tether_event_loop_stall_max_seconds')).toBeGreaterThanOrEqual(1.2);
    await sleep(1000);
    expect(sampleValue(await scrape(), 'tether_event_loop_stall_max_seconds')).toBeGreaterThanOrEqual(1.2);
  });
});

describe('counters move', () => {
  it('when a client connects', async () => {
    let client: TestClient | undefined;
    const moved = await delta(async () => {
      client = (await TestClient.session(gw.url, { token: await mintToken({ sub: 'mo' }) })).client;
      await settle(client);
    });
    expect(moved('tether_connections_opened_total')).toBe(1);
    expect(moved('tether_admissions_total', { result: 'admitted' })).toBe(1);
    expect(moved('tether_connection_transitions_total', { to: 'connected' })).toBe(1);
    expect(moved('tether_connections', { state: 'connected' })).toBe(1);
    expect(moved('tether_sockets_open')).toBe(1);
    expect(moved('tether_messages_received_total')).toBe(2); // hello, ping
    // welcome and pong (and a `queued` frame if this busy box made the pool queue the client).
    expect(moved('tether_messages_sent_total', { path: 'direct' })).toBeGreaterThanOrEqual(2);
    client?.send({ type: 'bye' });
    await client?.waitClosed();
  });

  it('when a client errs, by code and category', async () => {
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'erin' }) });
    const moved = await delta(async () => {
      client.send('{"type":"subscribe"');
      client.send({ type: 'subscribe', channel: 'inbox:someone-else', ref: 'x' });
      await settle(client);
    });
    expect(moved('tether_errors_total', { code: 'MALFORMED_MESSAGE', category: 'client' })).toBe(1);
    expect(moved('tether_errors_total', { code: 'FORBIDDEN_CHANNEL', category: 'event' })).toBe(1);
    client.close();
  });

  it('when a client resumes, with the events replayed', async () => {
    const token = await mintToken({ sub: 'remy' });
    const channel = `metrics:${randomUUID().slice(0, 8)}`;
    const first = await TestClient.session(gw.url, { token });
    first.client.send({ type: 'subscribe', channel, ref: 's' });
    await first.client.next((f) => f.type === 'subscribed');
    const moved = await delta(async () => {
      first.client.drop();
      await first.client.waitClosed();
      await publishMany(gw.http, channel, 3);
      const second = await TestClient.session(gw.url, {
        token,
        resume: { sessionId: first.welcome.sessionId, resumeToken: first.welcome.resumeToken },
      });
      await second.client.waitForEvents(3, channel);
      second.client.send({ type: 'bye' });
      await second.client.waitClosed();
    });
    expect(moved('tether_connection_transitions_total', { to: 'reconnecting' })).toBe(1);
    expect(moved('tether_resumes_total', { result: 'resumed', recovered: 'true' })).toBe(1);
    expect(moved('tether_replays_total')).toBe(1);
    expect(moved('tether_replayed_events_total')).toBe(3);
    expect(moved('tether_http_requests_total', { route: 'POST /publish', status: '200' })).toBe(3);
  });

  it('when an event is fanned out: once per event, frames per subscriber, latency observed', async () => {
    const channel = `fan:${randomUUID().slice(0, 8)}`;
    const token = await mintToken({ sub: 'fay' });
    const clients = await Promise.all([1, 2].map(() => TestClient.session(gw.url, { token })));
    for (const { client } of clients) {
      client.send({ type: 'subscribe', channel, ref: 's' });
      await client.next((f) => f.type === 'subscribed');
    }
    const moved = await delta(async () => {
      await publishHttp(gw.http, channel, { n: 1 });
      for (const { client } of clients) await client.waitForEvents(1, channel);
    });
    expect(moved('tether_channel_events_total')).toBe(1);
    expect(moved('tether_messages_sent_total', { path: 'fanout' })).toBe(2);
    expect(moved('tether_delivery_latency_seconds_count')).toBe(1);
    for (const { client } of clients) client.close();
  });

  it('when a client is over its frame rate', async () => {
    const { client } = await TestClient.session(gw.url, { token: await mintToken({ sub: 'rita' }) });
    const moved = await delta(async () => {
      for (let i = 0; i < 60; i++) client.send({ type: 'ping', ts: i });
      await client.next((f) => f.type === 'error' && f.code === 'MESSAGE_RATE_LIMITED');
    });
    expect(moved('tether_rate_limit_hits_total', { limit: 'messages' })).toBeGreaterThan(0);
    expect(moved('tether_errors_total', { code: 'MESSAGE_RATE_LIMITED' })).toBe(
      moved('tether_rate_limit_hits_total', { limit: 'messages' }),
    );
    client.close();
  });
});
