/** Constant-time API key checks for backend and admin HTTP routes. */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpRequest } from '../edge/uws.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The Bearer scheme and the spaces after it: a scheme's name is case-insensitive (RFC 9110 §11.1). */
const BEARER = /^bearer +/i;

export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.map(digest);
  }

  /** true when the request's `authorization: Bearer <key>` (or `x-api-key`) is one of ours. */
  allows(req: HttpRequest): boolean {
    const header = req.getHeader('authorization');
    const scheme = BEARER.exec(header);
    const presented = scheme ? header.slice(scheme[0].length) : req.getHeader('x-api-key');
    if (!presented) return false;
    const candidate = digest(presented);
    let ok = false;
    for (const d of this.digests) ok = timingSafeEqual(d, candidate) || ok; // no early exit
    return ok;
  }
}
