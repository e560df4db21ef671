/**
 * What decides which native build can load: Node's ABI, the OS and CPU, and the C
 * library (uWS's Linux binaries are linked against a minimum glibc; musl has none).
 */

export interface Platform {
  node: string;
  /** `process.versions.modules`: the ABI a native addon is built for. */
  abi: string;
  os: NodeJS.Platform;
  arch: string;
  /** `glibc 2.36`, `musl or another libc`, or the OS name off Linux. */
  libc: string;
}

let current: Platform | undefined;

export function currentPlatform(): Platform {
  current ??= {
    node: process.version,
    abi: process.versions.modules,
    os: process.platform,
    arch: process.arch,
    libc: libcOf(),
  };
  return current;
}

export function platformText(p: Platform): string {
  return `Node ${p.node} (ABI ${p.abi}), ${p.os}-${p.arch}, ${p.libc}`;
}

function libcOf(): string {
  if (process.platform !== 'linux') return process.platform;
  // The diagnostic report's header names the glibc the process runs on; absent under musl.
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime
    ? `glibc ${header.glibcVersionRuntime}`
    : 'musl or another libc (no glibc)';
}
