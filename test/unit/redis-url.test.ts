/**
 * REDIS_URL's forms (src/config/redis-url.ts): one server, a cluster's seed nodes,
 * Sentinels and a master's name — and a clear error for what is none of them.
 */
import { describe, expect, it } from 'vitest';
import { parseRedisUrl, RedisUrlError, redact } from '../../src/config/redis-url.ts';

describe('REDIS_URL', () => {
  it('a single server is left to ioredis as written, its database number read', () => {
    expect(parseRedisUrl('rediss://:pw@cache:6380/2')).toEqual({
      kind: 'standalone',
      url: 'rediss://:pw@cache:6380/2',
      db: 2,
    });
    expect(parseRedisUrl('redis://cache')).toMatchObject({ db: 0 });
    expect(parseRedisUrl('redis://cache:6379/')).toMatchObject({ db: 0 });
    expect(parseRedisUrl('redis://[::1]:6379?db=3')).toMatchObject({ db: 3 }); // ioredis reads ?db= too
  });

  it('redis+cluster:// lists seed nodes, with credentials and TLS', () => {
    expect(parseRedisUrl('rediss+cluster://app:s%40cret@10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      kind: 'cluster',
      tls: true,
      username: 'app',
      password: 's@cret',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it('redis+sentinel:// lists Sentinels and names the master', () => {
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26379/tether')).toEqual({
      kind: 'sentinel',
      tls: false,
      password: 'pw',
      masterName: 'tether',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
    });
  });

  it.each([
    ['http://localhost', /must start with redis:\/\//],
    ['redis+sentinel://s1:26379', /names no master/],
    ['redis+cluster://a:99999', /"a:99999" is not host:port/],
    ['redis+cluster://:secret@a:x', /not host:port/],
    // What ioredis would throw on (TypeError: Invalid URL), or send as SELECT NaN.
    ['redis://127.0.0.1:99999', /not a valid URL \(a port is 1–65535\)/],
    ['redis://127.0.0.1:0', /the port must be 1–65535/],
    ['redis://', /names no host/],
    ['redis://127.0.0.1:6379/abc', /"abc" is not a database number/],
    ['redis://127.0.0.1:6379/1/2', /"1\/2" is not a database number/],
    ['redis://127.0.0.1:6379/-1', /"-1" is not a database number/],
    ['redis://127.0.0.1:6379?db=x', /"x" is not a database number/],
    ['redis://127.0.0.1:6379/99999999999', /not a database number/],
    ['redis+cluster://a:7000,b:7000/3', /a Redis Cluster has only database 0/],
    // A stray `%` (ioredis and decodeURIComponent throw URIError on it).
    ['redis+cluster://:p%zz@10.0.0.1:6379', /the password holds a "%" not followed by two hex digits/],
    ['redis+sentinel://u%:pw@10.0.0.5:26379/tether', /the user name holds a "%"/],
    ['redis+sentinel://10.0.0.5:26379/my%master', /the master name holds a "%"/],
    ['redis://:100%@127.0.0.1:6379', /the password holds a "%"/],
  ])('%s is refused with a message that says why', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(RedisUrlError);
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('an error never shows the password', () => {
    expect(() => parseRedisUrl('redis+sentinel://:hunter2@s1:26379')).toThrow(/\*\*\*@s1/);
    expect(() => parseRedisUrl('redis+sentinel://:hunter2@s1:26379')).not.toThrow(/hunter2/);
    expect(() => parseRedisUrl('redis://127.0.0.1:6379/x?password=hunter2')).not.toThrow(/hunter2/);
    expect(redact('redis://127.0.0.1:6379/0?db=1&password=hunter2')).toBe(
      'redis://127.0.0.1:6379/0?db=1&password=***',
    );
  });
});
