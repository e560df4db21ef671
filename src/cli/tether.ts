#!/usr/bin/env node
/**
 * The `tether` command (package.json `bin`, compiled to dist/src/cli/tether.js by
 * `npm run build`):
 *
 *   tether start                                   run the gateway (what `npm start` runs)
 *   tether token --sub alice --channels 'room:*'   mint a client token from the configured secret
 *   tether check-config                            validate the environment, print the effective configuration
 *   tether --version
 *   tether <command> --help                        what a command takes (src/cli/usage.ts)
 *
 * Each command is loaded only when asked for, after source maps are switched on, so
 * stack traces point into src/ and `tether --version` loads nothing else.
 */
import { PACKAGE_VERSION } from '../config/package-root.ts';
import { commandHelp, EXIT_USAGE, parseOptions, UsageError } from './cli-options.ts';
import { USAGE } from './usage.ts';

process.setSourceMapsEnabled(true);

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      // Options first: `start --help` or a mistyped option must not start a gateway.
      if (commandHelp('start', parseOptions(rest, {}))) return 0;
      await import('../main.ts');
      return -1; // the gateway runs until a signal; src/main.ts exits the process
    case 'token':
      return (await import('./token-command.ts')).tokenCommand(rest);
    case 'check-config':
      return (await import('./check-config-command.ts')).checkConfigCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${PACKAGE_VERSION}\n`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(
        `tether: ${command ? `unknown command "${command}"` : 'no command given'}\n\n${USAGE}`,
      );
      return EXIT_USAGE;
  }
}

/** The commands whose options `tether <command> --help` lists (`tether --help` lists only the commands). */
const COMMANDS: readonly string[] = ['start', 'token', 'check-config'];

try {
  const status = await run(process.argv.slice(2));
  if (status >= 0) process.exitCode = status;
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  const command = process.argv[2] ?? '';
  const help = COMMANDS.includes(command) ? `tether ${command} --help` : 'tether --help';
  process.stderr.write(`tether: ${error.message}\nRun \`${help}\` for its options.\n`);
  process.exitCode = EXIT_USAGE;
}
