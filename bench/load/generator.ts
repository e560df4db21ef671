/**
 * A load-generator process: holds up to ~15K client sockets (RLIMIT_NOFILE is
 * 20000 per process here) and runs the commands the bench sends over IPC
 * (bench/load/commands.ts). Started by bench/load/generator-pool.ts; its own
 * CPU is read from /proc by the parent to show it was not the bottleneck.
 */

import { sleep } from '../lib/timing.ts';
import { ClientGroup } from './client-group.ts';
import { chatMessage } from './clients/payload.ts';
import type { Command, Envelope, Replies, ReplyEnvelope } from './commands.ts';
import { relayClosedLoop, relayOpenLoop } from './relay-driver.ts';
import { StormGroup } from './storm-group.ts';

const groups = new Map<string, ClientGroup>();
const storms = new Map<string, StormGroup>();

function group(name: string): ClientGroup {
  const found = groups.get(name);
  if (!found) throw new Error(`no client group ${name}`);
  return found;
}

async function run(command: Command): Promise<Replies[Command['type']]> {
  switch (command.type) {
    case 'connect': {
      let target = groups.get(command.group);
      if (!target) {
        target = new ClientGroup(command.kind);
        groups.set(command.group, target);
      }
      return target.connect(command);
    }
    case 'relay-open':
      return relayOpenLoop(group(command.group), command);
    case 'relay-closed':
      return relayClosedLoop(group(command.group), command);
    case 'publish': {
      const publisher = group(command.group).clients[0];
      if (!publisher?.isOpen)
        throw new Error(
          `publish: the publisher is not connected (${publisher?.endedBecause ?? 'never was'})`,
        );
      const startedAt = performance.timeOrigin + performance.now();
      for (let i = 0; i < command.count; i++)
        publisher.publish(command.channel, `event-${i}`, command.chat ? chatMessage(i) : undefined);
      return { sent: command.count, startedAt };
    }
    case 'reset-counts':
      group(command.group).resetCounts();
      return {};
    case 'await-deliveries': {
      const target = group(command.group);
      const expected = command.perClient * target.openClients().length;
      const deadline = performance.now() + command.timeoutMs;
      while (target.delivered < expected && performance.now() < deadline) await sleep(5);
      return {
        total: target.delivered,
        lastAt: target.lastDeliveryAt,
        complete: target.delivered >= expected,
        bytesRead: target.bytesReadSinceReset(),
      };
    }
    case 'count-open': {
      const group = groups.get(command.group);
      return { open: group?.openClients().length ?? 0, closed: group?.closeReasons() ?? {} };
    }
    case 'close': {
      const target = groups.get(command.group);
      const storm = storms.get(command.group);
      storm?.close();
      storms.delete(command.group);
      groups.delete(command.group);
      return target ? target.close(command.timeoutMs) : { closed: 0 };
    }
    case 'storm-connect': {
      let storm = storms.get(command.group);
      if (!storm) {
        storm = new StormGroup();
        storms.set(command.group, storm);
      }
      return storm.connect(command);
    }
    case 'storm-stats': {
      const storm = storms.get(command.group);
      if (!storm) throw new Error(`no storm group ${command.group}`);
      return storm.stats(command.expectedEvents);
    }
  }
}

process.on('message', (message: Envelope) => {
  run(message.command).then(
    (result) => reply({ id: message.id, ok: true, result }),
    (error: Error) => reply({ id: message.id, ok: false, error: error.stack ?? String(error) }),
  );
});

function reply(envelope: ReplyEnvelope): void {
  process.send?.(envelope);
}

// The bench died without telling us: do not linger holding thousands of sockets.
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true, result: 'ready' } satisfies ReplyEnvelope);
