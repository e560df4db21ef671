/**
 * The import rules of the architecture (docs/architecture.md), checked by
 * `npm run check` (and so by `npm test`):
 *
 *   shared, config  ←  machines, core (with protocol)  ←  adapters  ←  composition root
 *
 * The core depends only on the ports it owns (src/core/ports/); adapters implement
 * them; src/gateway.ts is the only module that knows every part. No cycles at all,
 * type-only imports included.
 */
const ADAPTERS =
  '^src/(actions|admin|admission|auth|channels|control|edge|http|limits|notifications|observability|pages|presence|redis|session)/';

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'Modules that import each other hide who depends on whom.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'shared-is-a-leaf',
      comment: 'src/shared is shared with the client SDK: it depends on nothing of the server.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: '^(src/(?!shared/)|machines/)' },
    },
    {
      name: 'config-is-a-leaf',
      comment: 'The validated configuration is read by every layer and depends on none of them.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^(src/(?!shared/|config/|auth/public-key)|machines/)' },
    },
    {
      name: 'machines-are-pure',
      comment: 'Machines open in the Stately visualizer: XState and protocol types only.',
      severity: 'error',
      from: { path: '^machines/' },
      to: { path: '^src/(?!shared/)' },
    },
    {
      name: 'core-knows-only-ports',
      comment: 'The core works through the interfaces in src/core/ports, never through an adapter.',
      severity: 'error',
      from: { path: '^src/(core|protocol)/' },
      to: { path: `${ADAPTERS}|^src/(gateway|main|dev-mode)\\.ts$|^src/client/` },
    },
    {
      name: 'the-sdk-takes-only-the-protocol',
      comment: 'The client SDK is its own package: of the server it shares only src/shared.',
      severity: 'error',
      from: { path: '^packages/client/' },
      to: { path: '^(src/(?!shared/)|machines/(?!client\\.machine))' },
    },
    {
      name: 'only-the-root-knows-the-root',
      comment: 'Adapters are wired by src/gateway.ts; none of them reaches back into it.',
      severity: 'error',
      from: { path: `${ADAPTERS}|^src/(core|protocol|shared|config)/` },
      to: { path: '^src/(gateway|main|dev-mode)\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
