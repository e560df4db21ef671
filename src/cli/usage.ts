/**
 * What `tether --help` and `tether <command> --help` print: plain text, loaded before
 * any command, so asking for help loads nothing else.
 */

/** The longest lifetime `tether token --ttl` mints: ten years, in seconds. */
export const MAX_TOKEN_TTL_S = 315_360_000;

export const COMMAND_USAGE = {
  start: `Usage: tether start

Run the gateway until SIGTERM or SIGINT, then drain its clients and exit 0. The
configuration comes from the environment (README.md, "Configuration"); \`tether
check-config\` validates it without starting anything.

Options:
  --help, -h            Print this help

Exit status: 0 after a graceful stop; 2 on an invalid configuration, naming each bad
variable; 1 when the edge cannot load, Redis cannot be reached or the port bound.
`,
  token: `Usage: tether token [options]

Print a client token signed with AUTH_JWT_SECRET (with AUTH_ISSUER / AUTH_AUDIENCE).
In development mode (no auth configured) it signs with the development secret the
gateways share through Redis: REDIS_URL's; with REDIS_URL unset, 127.0.0.1:6379's if
it answers; else (or REDIS_URL=embedded) the private Redis of the gateway running on
REDIS_DATA_DIR. With AUTH_JWT_PUBLIC_KEY or AUTH_JWKS_URL only the private key's
holder can mint.

Options:
  --sub <user>          the user (default dev-user)
  --channels <a,b>      channel patterns it may subscribe to (default *; '' for none)
  --publish <a,b>       channel patterns it may publish to (default *; '' for none)
  --actions <a,b>       actions it may send (default *; '' for none)
  --tier <name>         its tier (default standard)
  --ttl <seconds>       its lifetime in decimal digits, 1–${MAX_TOKEN_TTL_S} (default 86400)
  --help, -h            Print this help

Exit status: 0; 1 when there is no key to sign with; 2 on a usage or configuration error.
`,
  'check-config': `Usage: tether check-config

Validate the environment as \`tether start\` does and print the effective configuration
as JSON, every secret masked, with the edge this machine would run. It connects to
nothing: what only a Redis can say (a database number it lacks) is found at start.

Options:
  --help, -h            Print this help

Exit status: 0 when valid; 2 when invalid, naming each bad variable; 1 when EDGE=uws
cannot load here.
`,
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;

export const USAGE = `Usage: tether <command> [options]

Commands:
  start                    Run the gateway until SIGTERM/SIGINT (configuration from the environment: README.md, "Configuration")
  token                    Print a client token signed with AUTH_JWT_SECRET (or, in development mode, the shared development secret)
  check-config             Validate the environment and print the effective configuration, secrets masked; exits 2 on an error

\`tether <command> --help\` prints what a command takes.

Options:
  --version, -v            Print Tether's version
  --help, -h               Print this help
`;
