/**
 * `tether check-config`: validate the environment as `tether start` would (src/config/config.ts)
 * and print the effective configuration as JSON, every secret masked (the key list of
 * src/observability/secrets.ts, and a password in REDIS_URL), with the edge this machine
 * would run. Exits 2 on a configuration error, 1 when the chosen edge cannot load.
 */
import type { Config } from '../config/config.ts';
import { redact } from '../config/redis-url.ts';
import { chooseEdge, EdgeUnavailableError } from '../edge/select-edge.ts';
import { redactSecrets } from '../observability/secrets.ts';
import { commandHelp, configOrReport, EXIT_USAGE, parseOptions } from './cli-options.ts';

export function checkConfigCommand(args: string[]): number {
  if (commandHelp('check-config', parseOptions(args, {}))) return 0;
  const config = configOrReport();
  if (!config) return EXIT_USAGE;
  let edge: string;
  try {
    const choice = chooseEdge(config.edge);
    edge = `${choice.edge.info.impl} ${choice.edge.info.version}`;
  } catch (error) {
    if (!(error instanceof EdgeUnavailableError)) throw error;
    process.stderr.write(`tether: ${error.message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ ...printable(config), edgeWouldRun: edge }, null, 2)}\n`);
  process.stderr.write('tether: configuration is valid\n');
  return 0;
}

/**
 * The configuration as JSON shows it: secrets masked, and the namespaces (a Map, which
 * JSON.stringify would print as `{}`) as an object by name. They are added after the
 * masking: they hold no secret, and a namespace may well be called `tokens`.
 */
export function printable(config: Config): Record<string, unknown> {
  const masked = redactSecrets({ ...config, redisUrl: config.redisUrl && redact(config.redisUrl) });
  return {
    ...masked,
    channels: { ...config.channels, namespaces: Object.fromEntries(config.channels.namespaces) },
  };
}
