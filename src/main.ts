/**
 * `npm start`: read the configuration, find or start Redis, run one gateway
 * process until SIGTERM/SIGINT, then drain gracefully and exit 0.
 */
// FIRST: registers tracing from OTEL_* (top-level await) before main() runs, so no
// span, queue or worker exists earlier. For instrumentation that patches modules
// as they load (auto-instrumentation), use `--import ./src/observability/register.ts`.
import './observability/register.ts';
import closeWithGrace from 'close-with-grace';
import { ConfigError, loadConfig } from './config/config.ts';
import { TIMER_MAX_MS } from './config/config-schema.ts';
import { announceDevMode, devApiKey } from './dev-mode.ts';
import { chooseEdge, type EdgeChoice, EdgeUnavailableError, edgeLogFields } from './edge/select-edge.ts';
import { ListenError, RedisUnreachableError, startGateway } from './gateway.ts';
import { createLogger } from './observability/logger.ts';
import { activeTracing, routeDiagnostics } from './observability/tracing.ts';
import { RedisUnavailableError, resolveRedis } from './redis/embedded-redis.ts';

/** A configuration error, found at load or later (a Redis without REDIS_URL's database): exit 2. */
function refuseConfiguration(error: ConfigError): never {
  process.stderr.write(`tether: ${error.message}\nSee README.md, "Configuration".\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    refuseConfiguration(error);
  }
  const tracing = activeTracing();
  const logger = createLogger(config.logLevel, config.nodeId);
  routeDiagnostics(logger);
  if (tracing.ignored.length > 0)
    logger.warn({ ignored: tracing.ignored }, 'tracing: ignoring unsupported values');
  if (tracing.enabled) logger.info({ exporters: tracing.exporters }, 'tracing on');
  let edge: EdgeChoice;
  try {
    edge = chooseEdge(config.edge);
  } catch (error) {
    if (!(error instanceof EdgeUnavailableError)) throw error;
    process.stderr.write(`tether: ${error.message}\n`);
    process.exit(1);
  }
  logger.info(edgeLogFields(edge), `edge: ${edge.edge.info.impl} (${edge.edge.info.version})`);
  if (config.devMode && config.publishApiKeys.length === 0) config.publishApiKeys = [devApiKey()];

  let redis: Awaited<ReturnType<typeof resolveRedis>>;
  try {
    redis = await resolveRedis(config.redisUrl, { dataDir: config.redisDataDir });
  } catch (error) {
    if (!(error instanceof RedisUnavailableError)) throw error;
    process.stderr.write(
      `tether: no Redis. REDIS_URL is ${config.redisUrl ?? 'unset, nothing answers on 127.0.0.1:6379,'} and ${error.message}\n`,
    );
    process.exit(1);
  }
  if (redis.source !== 'configured')
    // dataDir: where the private redis-server keeps its append-only file (a restart loses nothing).
    logger.info(
      { redis: redis.url, source: redis.source, dataDir: redis.server?.dir },
      'using embedded Redis default',
    );

  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, redis.url, logger);
  } catch (error) {
    await redis.server?.stop();
    if (error instanceof ConfigError) refuseConfiguration(error);
    if (!(error instanceof RedisUnreachableError || error instanceof ListenError)) throw error;
    process.stderr.write(`tether: ${error.message}\n`);
    process.exit(1);
  }
  if (config.devMode) await announceDevMode(gateway, config);

  // The last resort past the drain's own deadline; a timer's longest wait (config-schema.ts).
  const graceMs = Math.min(config.drainTimeoutMs + 5000, TIMER_MAX_MS);
  // Either way the process exits 1: the log says why (close-with-grace itself says nothing with logger: false).
  const onSecondSignal = (signal: string) => logger.error({ signal }, 'second signal; exiting now');
  const onTimeout = (delayMs: number) =>
    logger.error({ graceMs: delayMs }, 'shutdown took too long; exiting now');
  closeWithGrace({ delay: graceMs, logger: false, onSecondSignal, onTimeout }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'fatal error; shutting down');
    else logger.info({ signal }, 'shutting down');
    try {
      await gateway.shutdown();
      await tracing.shutdown(); // flushes spans still buffered
      await redis.server?.stop();
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed; exiting'); // close-with-grace exits 1, silently
      throw error;
    }
  });
}

await main();
