/**
 * A configuration that cannot run: one line per problem, each naming the variable
 * (or the file and JSON path) and what is allowed. `tether start` and
 * `tether check-config` print the message and exit 2, wherever it was thrown.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';

  /** @param problems - one per bad value, each a line that starts with the variable's name */
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  }
}
