/**
 * `GET /channels/:channel/presence?limit=&cursor=` for backends (a PUBLISH_API_KEYS key,
 * or ADMIN_API_KEY): one page of who is subscribed to a channel whose namespace tracks
 * presence — `{ channel, count, members, cursor }`, `cursor` null on the last page.
 */

import {
  acceptBackend,
  answer,
  type BackendKeys,
  param,
  queryOf,
  RouteError,
  requireStore,
} from '../control/backend-request.ts';
import type { GatewayCore } from '../core/gateway-core.ts';
import type { App } from '../edge/uws.ts';
import { integerParam, textParam } from '../http/query-params.ts';
import {
  CHANNEL_PATTERN,
  INBOX_PREFIX,
  PRESENCE_CURSOR_PATTERN,
  PRESENCE_PAGE_DEFAULT,
  PRESENCE_PAGE_MAX,
} from '../shared/frames.ts';

const isChannel = (value: string) => new RegExp(CHANNEL_PATTERN).test(value);
const PRESENCE_PARAMS = {
  limit: integerParam(0, PRESENCE_PAGE_MAX),
  cursor: textParam('a cursor this route gave', PRESENCE_CURSOR_PATTERN),
};

export function mountPresenceRoute(app: App, core: GatewayCore, keys: BackendKeys): void {
  const { logger } = core;
  app.get('/channels/:channel/presence', (res, req) => {
    const request = acceptBackend(res, req, keys, logger, 1);
    if (!request) return;
    answer(res, request, { logger, readiness: core.ports.readiness }, async () => {
      const channel = param(request, 0, 'channel', isChannel);
      const { limit = PRESENCE_PAGE_DEFAULT, cursor } = queryOf(request, PRESENCE_PARAMS);
      if (channel.startsWith(INBOX_PREFIX) || !core.policy(channel).presence)
        throw new RouteError(404, 'PRESENCE_NOT_ENABLED', `presence is not tracked on ${channel}`);
      requireStore(core.ports.readiness);
      const page = await core.ports.presence.page(channel, limit, cursor);
      return { body: { channel, count: page.count, members: page.members, cursor: page.cursor ?? null } };
    });
  });
}
