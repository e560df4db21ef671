/** What every `tether` command shares: strict option parsing and its exit statuses. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type Config, ConfigError, loadConfig } from '../config/config.ts';
import { COMMAND_USAGE, type CommandName } from './usage.ts';

/** A usage or configuration error: the status src/main.ts exits with on a configuration error. */
export const EXIT_USAGE = 2;

/** A mistake on the command line; `tether` prints its message and exits with EXIT_USAGE. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** What every command takes besides its own options. */
const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * The values of `args`, parsed strictly by node:util's parseArgs: an unknown option,
 * a positional or a missing value is a UsageError naming it. `--help` / `-h` is
 * every command's (commandHelp).
 */
export function parseOptions<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, ...HELP }, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** true once `command`'s usage was printed, when its options asked for it: the command then exits 0. */
export function commandHelp(command: CommandName, values: { help?: boolean | undefined }): boolean {
  if (values.help) process.stdout.write(COMMAND_USAGE[command]);
  return values.help === true;
}

/** The configuration from the environment, or undefined once why it is invalid was printed. */
export function configOrReport(): Config | undefined {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`tether: ${error.message}\n`);
    return undefined;
  }
}
