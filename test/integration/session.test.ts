import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AckFrame, ErrorFrame } from '../../src/shared/frames.ts';
import { mintToken, publishHttp, startTestGateway, type TestGateway } from '../support/gateway.ts';
import { TestClient } from '../support/ws-client.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(() => gw.stop());

describe('a first session', () => {
  it('hello → welcome, subscribe, and receive what a backend publishes', async () => {
    const { client, welcome } = await TestClient.session(gw.url, {
      token: await mintToken({ sub: 'alice' }),
    });
    expect(welcome).toMatchObject({ userId: 'alice', resumed: false, maxMessageBytes: 65536 });
    expect(welcome.correlationId).toBeTruthy();
    client.send({ type: 'subscribe', channel: 'room:1', ref: 's1' });
    await client.next((f) => f.type === 'subscribed' && f.ref === 's1');
    const id = await publishHttp(gw.http, 'room:1', { text: 'hello' });
    await client.waitForEvents(1);
    expect(client.events()[0]).toMatchObject({ channel: 'room:1', id, data: { text: 'hello' } });
    client.close();
  });

  it('a client publishes where its token allows, and every subscriber gets it once', async () => {
    const token = await mintToken({ sub: 'bob', channels: ['chat:*'], publish: ['chat:*'] });
    const a = await TestClient.session(gw.url, { token });
    const b = await TestClient.session(gw.url, { token });
    for (const { client } of [a, b]) {
      client.send({ type: 'subscribe', channel: 'chat:x', ref: 's' });
      await client.next((f) => f.type === 'subscribed');
    }
    a.client.send({ type: 'publish', channel: 'chat:x', data: { n: 1 }, ref: 'p1' });
    const ack = (await a.client.next((f) => f.type === 'ack')) as AckFrame;
    await b.client.waitForEvents(1);
    await a.client.waitForEvents(1);
    expect(b.client.events().map((e) => e.id)).toEqual([ack.id]);
    expect(a.client.events().map((e) => e.id)).toEqual([ack.id]);
    a.client.send({ type: 'publish', channel: 'news', data: {}, ref: 'p2' });
    const denied = (await a.client.next((f) => f.type === 'error')) as ErrorFrame;
    expect(denied).toMatchObject({
      code: 'PUBLISH_FORBIDDEN',
      ref: 'p2',
      correlationId: a.welcome.correlationId,
    });
    a.client.close();
    b.client.close();
  });
});
