/**
 * The supervisor of one gateway process: decides who is admitted, who waits in
 * the priority queue, who is shed under pressure, and drains on shutdown. It holds
 * counts, not children — connection actors live in a Map owned by the supervisor
 * runtime, because spawning into this snapshot costs O(children) per spawn
 * (5.8 ms at 11K; docs/architecture.md, measured traps).
 *
 * - accepting: room and no pressure — admit at once (no queue on this fast path).
 * - saturated: full, resource pressure `high`, or others already waiting — queue,
 *   unless the queue already holds `maxWaiting`: then refuse at once (SERVER_BUSY).
 * - shedding: pressure `critical` — queue newcomers, close lowest priority first.
 * - draining: shutting down — refuse, let the runtime close everyone in batches.
 *
 * In any state but draining, Redis found gone (`store.unavailable`: stopped, or not
 * answering) dismisses everyone waiting in line with STORE_UNAVAILABLE, as a hello arriving
 * then is refused: the line lives in Redis, and an admitted waiter's session could not be
 * made until Redis is back. Nobody waits through an outage in silence.
 *
 * Its decision on each request is its own output: it emits `admission.granted`,
 * `admission.queued` or `admission.refused`, which the supervisor
 * (src/core/supervisor.ts) forwards to the asking connection's actor.
 *
 * Pure: effects are named stubs, provided by src/core/supervisor.ts.
 */
import { assign, emit, setup } from 'xstate';

export type Pressure = 'normal' | 'high' | 'critical';

export interface PoolInput {
  /** Sockets admitted at once in this process. */
  maxConnections: number;
  /** Connections that may wait in the admission queue; 0 = never queue. */
  maxWaiting: number;
}

export interface PoolContext extends PoolInput {
  /** Admitted sockets that are open. */
  active: number;
  /** Connections waiting in the admission queue. */
  waiting: number;
  pressure: Pressure;
  admitted: number;
  queued: number;
  refused: number;
}

export type PoolEvent =
  | { type: 'admission.requested'; connectionId: string; priority: number }
  | { type: 'admission.dequeued'; connectionId: string }
  | { type: 'admission.abandoned'; connectionId: string }
  | { type: 'connection.released'; connectionId: string }
  | { type: 'resources.sampled'; pressure: Pressure }
  /** The store's health check found Redis gone (stopped, unreachable, or not answering). */
  | { type: 'store.unavailable' }
  | { type: 'pool.drain' }
  | { type: 'pool.drained' };

/** The pool's answer to `admission.requested`. */
export type AdmissionDecision =
  | { type: 'admission.granted'; connectionId: string }
  | { type: 'admission.queued'; connectionId: string; priority: number }
  | { type: 'admission.refused'; connectionId: string; code: string };

export const poolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as PoolEvent,
    input: {} as PoolInput,
    emitted: {} as AdmissionDecision,
  },
  guards: {
    isCritical: ({ context }) => context.pressure === 'critical',
    eventIsCritical: ({ event }) => event.type === 'resources.sampled' && event.pressure === 'critical',
    mustQueue: ({ context }) =>
      context.active >= context.maxConnections || context.pressure !== 'normal' || context.waiting > 0,
    canAdmitNow: ({ context }) =>
      context.active < context.maxConnections && context.pressure === 'normal' && context.waiting === 0,
    queueIsFull: ({ context }) => context.waiting >= context.maxWaiting,
    someoneWaiting: ({ context }) => context.waiting > 0,
  },
  actions: {
    markReleased: assign({ active: ({ context }) => Math.max(0, context.active - 1) }),
    /** Put the connection in the priority line (BullMQ). */
    enqueue: (_, _params: { connectionId: string; priority: number }) => {},
    /** Pull waiters from the queue, in priority order, into the free slots. */
    admitFromQueue: () => {},
    /** Close some of the lowest-priority connections (they stay resumable). */
    shedLoad: () => {},
    /** Close connected clients in batches with 1012 so they resume elsewhere. */
    drainConnections: () => {},
    /** Refuse everyone waiting in line with `code` (each leaves it: `admission.abandoned`). */
    dismissWaiters: (_, _params: { code: string }) => {},
  },
}).createMachine({
  id: 'pool',
  context: ({ input }) => ({
    ...input,
    active: 0,
    waiting: 0,
    pressure: 'normal',
    admitted: 0,
    queued: 0,
    refused: 0,
  }),
  initial: 'accepting',
  on: {
    'connection.released': { actions: 'markReleased' },
    // A waiter reached the front of the line and a slot was free.
    'admission.dequeued': {
      actions: [
        assign({
          active: ({ context }) => context.active + 1,
          waiting: ({ context }) => Math.max(0, context.waiting - 1),
          admitted: ({ context }) => context.admitted + 1,
        }),
        emit(({ event }) => ({ type: 'admission.granted' as const, connectionId: event.connectionId })),
      ],
    },
    'admission.abandoned': {
      actions: assign({ waiting: ({ context }) => Math.max(0, context.waiting - 1) }),
    },
    'resources.sampled': { actions: assign({ pressure: ({ event }) => event.pressure }) },
    // Redis is gone: a waiter is told so now, not left in a line it cannot leave until Redis is back.
    'store.unavailable': {
      guard: 'someoneWaiting',
      actions: { type: 'dismissWaiters', params: { code: 'STORE_UNAVAILABLE' } },
    },
    // Not admitted at once (the states' own handlers did not take it): wait in line, if there is room.
    'admission.requested': [
      {
        guard: 'queueIsFull',
        actions: [
          assign({ refused: ({ context }) => context.refused + 1 }),
          emit(({ event }) => ({
            type: 'admission.refused' as const,
            connectionId: event.connectionId,
            code: 'SERVER_BUSY',
          })),
        ],
      },
      {
        actions: [
          assign({
            waiting: ({ context }) => context.waiting + 1,
            queued: ({ context }) => context.queued + 1,
          }),
          {
            type: 'enqueue',
            params: ({ event }) => ({ connectionId: event.connectionId, priority: event.priority }),
          },
          emit(({ event }) => ({
            type: 'admission.queued' as const,
            connectionId: event.connectionId,
            priority: event.priority,
          })),
        ],
      },
    ],
  },
  states: {
    accepting: {
      always: [
        { guard: 'isCritical', target: 'shedding' },
        { guard: 'mustQueue', target: 'saturated' },
      ],
      on: {
        'admission.requested': {
          guard: 'canAdmitNow',
          actions: [
            assign({
              active: ({ context }) => context.active + 1,
              admitted: ({ context }) => context.admitted + 1,
            }),
            emit(({ event }) => ({ type: 'admission.granted' as const, connectionId: event.connectionId })),
          ],
        },
        'pool.drain': 'draining',
      },
    },
    saturated: {
      always: [
        { guard: 'isCritical', target: 'shedding' },
        { guard: 'canAdmitNow', target: 'accepting' },
      ],
      on: {
        // The runtime pulls waiters into whatever room there is once the step settles.
        'connection.released': { actions: ['markReleased', 'admitFromQueue'] },
        'resources.sampled': {
          actions: [assign({ pressure: ({ event }) => event.pressure }), 'admitFromQueue'],
        },
        'pool.drain': 'draining',
      },
    },
    shedding: {
      entry: 'shedLoad',
      on: {
        'resources.sampled': [
          { guard: 'eventIsCritical', actions: 'shedLoad' },
          {
            target: 'saturated',
            actions: [assign({ pressure: ({ event }) => event.pressure }), 'admitFromQueue'],
          },
        ],
        'pool.drain': 'draining',
      },
    },
    draining: {
      entry: 'drainConnections',
      on: {
        'admission.requested': {
          actions: [
            assign({ refused: ({ context }) => context.refused + 1 }),
            emit(({ event }) => ({
              type: 'admission.refused' as const,
              connectionId: event.connectionId,
              code: 'SERVICE_RESTART',
            })),
          ],
        },
        // The drain closes everyone, waiters too, with SERVICE_RESTART: try another process.
        'store.unavailable': {},
        'pool.drained': 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});
