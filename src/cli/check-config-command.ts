/**
 * `tether check-config`: validate the environment as `tether start` would (src/config/config.ts)
 * and print the effective configuration as JSON, every secret masked (the key list of
 * src/observability/secrets.ts, and a password in REDIS_URL), with the edge this machine
 * would run. Exits 2 on a configuration error, 1 when the chosen edge cannot load.
 */
import { redact } from '../config/redis-url.ts';
import { chooseEdge, EdgeUnavailableError } from '../edge/select-edge.ts';
import { redactSecrets } from '../observability/secrets.ts';
import { configOrReport, EXIT_USAGE, parseOptions } from './cli-options.ts';

export function checkConfigCommand(args: string[]): number {
  parseOptions(args, {});
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
  const shown = redactSecrets({ ...config, redisUrl: config.redisUrl && redact(config.redisUrl) });
  process.stdout.write(`${JSON.stringify({ ...shown, edgeWouldRun: edge }, null, 2)}\n`);
  process.stderr.write('tether: configuration is valid\n');
  return 0;
}
