/**
 * Live inspection of the pool actor and chosen connection actors in the Stately
 * inspector (INSPECT, off by default). With it on, the process serves
 * @statelyai/inspect's bridge page on INSPECT_PORT: open http://host:INSPECT_PORT
 * and the page (which embeds stately.ai/inspect) shows every transition as it
 * happens. docs/observability.md, "Watch the machines live".
 *
 * Actors are attached after they exist (XState's `system.inspect`), so turning
 * inspection off costs one comparison per new connection actor and nothing else.
 *
 * The bridge listens on all interfaces (the library gives no host option) and
 * shows actor context (IDs, user IDs — never tokens): use it on a trusted network.
 */
import { connect } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { AnyActorRef } from 'xstate';
import type { InspectConfig } from '../config/config.ts';
import type { Logger } from './logger.ts';

type Inspector = ReturnType<typeof createWebSocketInspector>;

export class LiveInspector {
  private seen = 0;
  private stopped = false;
  private readonly attached = new WeakSet<AnyActorRef>();

  private constructor(
    private readonly config: InspectConfig,
    private readonly server: { stop(): void },
    private readonly inspector: Inspector,
  ) {}

  /** undefined when INSPECT=off: callers keep a cheap `inspector?.…`. */
  static start(config: InspectConfig, logger: Logger): LiveInspector | undefined {
    if (config.mode.kind === 'off') return undefined;
    const server = createInspectorServer({ port: config.port, autoOpen: false });
    // The bridge listens asynchronously and the inspector would wait 5 s after a refused
    // connection: connect once it accepts; events until then are held (up to 200).
    const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${config.port}`, autoStart: false });
    const live = new LiveInspector(config, server, inspector);
    whenListening(config.port).then(
      () => live.stopped || inspector.start(),
      (error: Error) =>
        logger.warn({ err: error, port: config.port }, 'live inspection: bridge not reachable'),
    );
    logger.warn(
      { inspect: config.mode, port: config.port },
      `live Stately inspection on: open http://<this host>:${config.port} (trusted networks only)`,
    );
    return live;
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
    this.stopped = true;
    this.inspector.stop();
    this.server.stop();
  }

  private attach(actor: AnyActorRef): void {
    this.attached.add(actor);
    // Announce the actor with its machine definition, then stream its transitions.
    this.inspector.actor(actor, actor.getSnapshot());
    actor.system.inspect(this.inspector.inspect);
  }
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port` (tries for about 5 s). */
async function whenListening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const accepted = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (accepted) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}
