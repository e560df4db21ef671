/**
 * The one seam between this package and the rest of the repository. The protocol's frame
 * types, the error registry, the backoff and the identifiers are written once, in
 * src/shared/, and the client machine in machines/ (where the Stately visualizer opens it);
 * the gateway imports them from there, and so does the SDK — through this file only.
 *
 * The package's build (scripts/build-client.ts) bundles what the SDK reaches of them into
 * dist/, so the published package depends on nothing but xstate. src/shared/frames.ts
 * defines the inbound schemas with TypeBox: only its types cross this seam
 * (`export type *`), so TypeBox never reaches a client bundle or its declarations.
 */
export * from '../../../machines/client.machine.ts';
export * from '../../../src/shared/backoff.ts';
export * from '../../../src/shared/errors.ts';
export type * from '../../../src/shared/frames.ts';
export * from '../../../src/shared/identifiers.ts';
