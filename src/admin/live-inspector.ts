/**
 * Live inspection of the pool actor and chosen connection actors in the Stately
 * inspector (INSPECT, off by default). With it on, the process serves the
 * inspector bridge (inspector-bridge.ts) on 127.0.0.1:INSPECT_PORT: open it
 * there, or through `ssh -L 4242:127.0.0.1:4242 <gateway host>`, and the page
 * (which embeds stately.ai/inspect) shows every transition as it happens.
 * docs/observability.md, "Watch the machines live".
 *
 * Actors are attached after they exist (XState's `system.inspect`), so turning
 * inspection off costs one comparison per new connection actor and nothing else:
 * @statelyai/inspect is loaded by `start`, only when INSPECT asks for it.
 * Context secrets are censored as in logs (secrets.ts).
 */
import type { AnyActorRef } from 'xstate';
import type { InspectConfig } from '../config/config.ts';
import type { Logger } from '../observability/logger.ts';
import { redactSecrets } from '../observability/secrets.ts';
import { importOptional } from '../shared/optional-import.ts';
import { INSPECTOR_HOST, type InspectorBridge, startInspectorBridge } from './inspector-bridge.ts';

type Inspector = ReturnType<typeof import('@statelyai/inspect')['createInspector']>;

export class LiveInspector {
  private seen = 0;
  private readonly attached = new WeakSet<object>();
  /** Systems already streamed: connection actors share one, so its events are filtered by actor. */
  private readonly streamed = new WeakSet<object>();

  private constructor(
    private readonly config: InspectConfig,
    private readonly bridge: InspectorBridge,
    private readonly inspector: Inspector,
  ) {}

  /** undefined when INSPECT=off (nothing is loaded); else resolves once the bridge listens. */
  static start(config: InspectConfig, logger: Logger): Promise<LiveInspector> | undefined {
    if (config.mode.kind === 'off') return undefined;
    return LiveInspector.load(config, logger);
  }

  private static async load(config: InspectConfig, logger: Logger): Promise<LiveInspector> {
    const { createInspector } = await importOptional(
      () => import('@statelyai/inspect'),
      '@statelyai/inspect@^0.7.2',
      'INSPECT',
    );
    const bridge = await startInspectorBridge({ port: config.port });
    const inspector = createInspector(
      {
        send: (event) => {
          let text: string;
          try {
            text = JSON.stringify(event);
          } catch {
            return; // a snapshot that does not serialize is skipped, not fatal
          }
          bridge.broadcast(text);
        },
      },
      { sanitizeContext: (context) => redactSecrets(context) },
    );
    const url = `http://${INSPECTOR_HOST}:${bridge.port}`;
    logger.warn(
      { inspect: config.mode, url },
      `live Stately inspection on: open ${url} on this host, or from yours: ssh -L ${bridge.port}:${INSPECTOR_HOST}:${bridge.port} <this host>`,
    );
    return new LiveInspector(config, bridge, inspector);
  }

  attachPool(pool: AnyActorRef): void {
    this.attach(pool);
  }

  /** A connection actor started (`userId` unknown yet) or was authenticated (`userId` known). */
  consider(actor: AnyActorRef, userId: string | undefined): void {
    const { mode } = this.config;
    if (this.attached.has(actor)) return;
    if (userId === undefined) {
      if (mode.kind === 'all' || (mode.kind === 'sample' && this.seen++ % mode.every === 0))
        this.attach(actor);
    } else if (mode.kind === 'users' && mode.userIds.includes(userId)) {
      this.attach(actor);
    }
  }

  stop(): void {
    this.inspector.stop();
    this.bridge.stop();
  }

  private attach(actor: AnyActorRef): void {
    this.attached.add(actor);
    // Announce the actor with its machine definition, then stream its transitions.
    this.inspector.actor(actor, actor.getSnapshot());
    if (this.streamed.has(actor.system)) return;
    this.streamed.add(actor.system);
    actor.system.inspect((event) => {
      if (this.attached.has(event.actorRef)) this.inspector.inspect.next?.(event);
    });
  }
}
