/**
 * A test gateway whose logs are kept: the production logger (createLogger, with
 * redaction and trace IDs) writing JSON lines into memory, for tests about what
 * the gateway logs.
 */
import { inject } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { type Gateway, startGateway } from '../../src/gateway.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { inProcessEnv } from './gateway.ts';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface LoggedGateway {
  gateway: Gateway;
  url: string;
  /** The SSE fallback's endpoint (`GET /sse`). */
  sseUrl: string;
  http: string;
  prefix: string;
  /** Everything written so far, as written. */
  output(): string;
  lines(): LogLine[];
  stop(): Promise<void>;
}

export async function startLoggedGateway(overrides: Record<string, string> = {}): Promise<LoggedGateway> {
  const raw: string[] = [];
  const env = inProcessEnv({ LOG_LEVEL: 'debug', ...overrides });
  const redisUrl = overrides.REDIS_URL ?? inject('redisUrl');
  const config = loadConfig({ ...env, REDIS_URL: redisUrl });
  const logger = createLogger(env.LOG_LEVEL ?? 'debug', config.nodeId, {
    destination: { write: (line: string) => raw.push(line) },
  });
  const gateway = await startGateway(config, redisUrl, logger);
  return {
    gateway,
    url: `ws://127.0.0.1:${gateway.port}/ws`,
    sseUrl: `http://127.0.0.1:${gateway.port}/sse`,
    http: `http://127.0.0.1:${gateway.port}`,
    prefix: config.redisPrefix,
    output: () => raw.join(''),
    lines: () => raw.map((line) => JSON.parse(line) as LogLine),
    stop: () => gateway.shutdown(),
  };
}
