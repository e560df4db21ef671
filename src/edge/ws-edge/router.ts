/**
 * uWS's URL patterns for the portable edge (and for src/edge/uws.ts's `allowedMethods`,
 * on either edge): static segments, `:name` parameters and a trailing `*`. As in uWS,
 * the most specific pattern wins whatever the order of registration (static before
 * parameter before wildcard, segment by segment), and a method's own route before `any`.
 */

export interface Match<H> {
  handler: H;
  params: string[];
}

interface Route<H> {
  method: string; // lower case, or '*' for any
  segments: string[];
  /** Per segment: 3 static, 2 parameter, 1 wildcard — compared left to right. */
  rank: number[];
  handler: H;
}

export class Router<H> {
  private readonly routes: Route<H>[] = [];

  add(method: string, pattern: string, handler: H): void {
    const segments = pattern.split('/').slice(1);
    const rank = segments.map((s) => (s === '*' ? 1 : s.startsWith(':') ? 2 : 3));
    this.routes.push({ method, segments, rank, handler });
    this.routes.sort(bySpecificity);
  }

  match(method: string, path: string): Match<H> | undefined {
    const parts = path.split('/').slice(1);
    for (const route of this.routes) {
      if (route.method !== '*' && route.method !== method) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { handler: route.handler, params };
    }
    return undefined;
  }
}

function matchSegments(segments: string[], parts: string[]): string[] | undefined {
  const params: string[] = [];
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '*' && i === segments.length - 1) return params;
    const part = parts[i];
    if (part === undefined) return undefined;
    if (segment.startsWith(':')) {
      if (part === '') return undefined; // as uWS: `/channels//history` names no channel
      params.push(part);
    } else if (segment !== part) return undefined;
  }
  return parts.length === segments.length ? params : undefined;
}

function bySpecificity<H>(a: Route<H>, b: Route<H>): number {
  const length = Math.max(a.rank.length, b.rank.length);
  for (let i = 0; i < length; i++) {
    const diff = (b.rank[i] ?? 0) - (a.rank[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return (a.method === '*' ? 1 : 0) - (b.method === '*' ? 1 : 0);
}
