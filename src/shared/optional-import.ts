/**
 * Packages that only an option uses are optional peer dependencies (package.json), not
 * installed by default: the gRPC trace exporter (OTEL_EXPORTER_OTLP_PROTOCOL=grpc) and the
 * Stately inspector (INSPECT). Asking for the option without the package gets this error,
 * naming what to install, instead of a bare "Cannot find package".
 */
export class OptionalPackageMissingError extends Error {
  override name = 'OptionalPackageMissingError';
}

/**
 * `load()` (a literal `import('pkg')`, so its types stay), or, when `pkg` is not installed,
 * an OptionalPackageMissingError saying that `option` needs it and how to install it.
 *
 * @example await importOptional(() => import('@statelyai/inspect'), '@statelyai/inspect@^0.7.2', 'INSPECT')
 */
export async function importOptional<T>(load: () => Promise<T>, pkg: string, option: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const name = pkg.replace(/(?<=.)@.*$/, '');
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String(error).includes(name))
      throw new OptionalPackageMissingError(
        `${option} needs the optional package ${name}: npm install ${pkg}`,
        {
          cause: error,
        },
      );
    throw error;
  }
}
