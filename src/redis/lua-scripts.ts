/**
 * Every store's Lua scripts run through here: EVALSHA, with the script's text sent
 * instead (EVAL) the first time a socket runs it and once more after the server says
 * NOSCRIPT (its script cache emptied: SCRIPT FLUSH, or a restart the socket did not see).
 *
 * This is what ioredis's `defineCommand` does, kept in one place so that a script's call
 * costs what its arguments cost. ioredis copies every command's arguments with
 * `Array.prototype.flat`, which on Node 20 takes ~90 ns per argument (1.2 µs for the
 * append's 14, against 10 ns for a copy), and its script wrapper adds a spread copy and a
 * second promise per call (`node --import tsx bench/redis-writes.ts` measures the append both
 * ways).
 * A script's arguments are flat already: the array built here answers `flat` with
 * itself, and the command goes to ioredis's own `sendCommand` — the same queue,
 * reconnection, offline buffering and Cluster slot routing as any other command.
 */
import { createHash } from 'node:crypto';
import { type ChainableCommander, Command } from 'ioredis';
import type { RedisConnection } from './redis-target.ts';

/** Method name → script. */
export type ScriptTable = Record<string, LuaScript>;

type Argument = string | number;

/** Answers `flat()` with itself: ioredis's Command calls it on every argument list. */
function alreadyFlat(this: Argument[]): Argument[] {
  return this;
}

/** An EVALSHA that goes as EVAL on a socket that has not been sent its script's text. */
class ScriptCommand extends Command {
  script!: LuaScript;
  /** The socket it was written to, and the script's mark there then (LuaScript.forget). */
  sentOn: object | undefined;
  mark = 0;

  override toWritable(socket: object): string | Buffer {
    this.sentOn = socket;
    // A new or reconnected socket is sent the text first, so it never answers NOSCRIPT:
    // after a restart, calls that were in flight could otherwise land out of order
    // (a later call's EVALSHA finding the text an earlier call's retry had just loaded).
    const mark = this.script.markOn(socket);
    if (mark === undefined) {
      this.mark = this.script.mark(socket);
      this.name = 'eval';
      this.args[0] = this.script.lua;
    } else this.mark = mark;
    return super.toWritable(socket);
  }
}

/** One script: its SHA1, and which sockets have been sent its text. */
export class LuaScript {
  readonly sha: string;
  /** Socket → the mark it was given when sent the text: an EVALSHA there finds the script. */
  private readonly sentTo = new WeakMap<object, number>();
  private marks = 0;

  constructor(
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** Run with `args` (KEYS, then ARGV) on `redis`, a connection or a Cluster. */
  run(redis: RedisConnection, args: readonly Argument[]): Promise<unknown> {
    const command = this.command(args);
    redis.sendCommand(command);
    return command.promise.catch((error: Error) => {
      if (!isNoScript(error)) throw error;
      // That server's cache lost the script (SCRIPT FLUSH): the retry sends the text.
      this.forget(command);
      const retry = this.command(args);
      redis.sendCommand(retry);
      return retry.promise;
    });
  }

  /**
   * Queue on a pipeline. A NOSCRIPT (the server's cache flushed) comes back as that
   * entry's error, for the caller to send the pipeline again: the next goes with the text.
   */
  queue(pipeline: ChainableCommander, args: readonly Argument[]): void {
    const command = this.command(args);
    command.promise.catch((error: Error) => {
      if (isNoScript(error)) this.forget(command);
    });
    (pipeline as unknown as { sendCommand(command: Command): unknown }).sendCommand(command);
  }

  /** The mark `socket` was given when last sent the text; undefined: not sent since it connected. */
  markOn(socket: object): number | undefined {
    return this.sentTo.get(socket);
  }

  /** `socket` is being sent the text: a new mark, so NOSCRIPTs of EVALSHAs sent before it are told apart. */
  mark(socket: object): number {
    this.sentTo.set(socket, ++this.marks);
    return this.marks;
  }

  /**
   * `command` was answered NOSCRIPT: its socket must be sent the text again — unless it
   * already was since (the first of many calls that found the cache empty re-marked it).
   */
  private forget(command: ScriptCommand): void {
    const socket = command.sentOn;
    if (socket && this.sentTo.get(socket) === command.mark) this.sentTo.delete(socket);
  }

  private command(args: readonly Argument[]): ScriptCommand {
    const flat: Argument[] = [this.sha, this.numberOfKeys, ...args];
    (flat as unknown as { flat: typeof alreadyFlat }).flat = alreadyFlat;
    const command = new ScriptCommand('evalsha', flat, { replyEncoding: 'utf8' });
    command.script = this;
    return command;
  }
}

/** The server does not have the script (its cache was flushed or it restarted). */
export function isNoScript(error: Error): boolean {
  return error.message.includes('NOSCRIPT');
}

/** Scripts that all take `numberOfKeys` KEYS, from name → Lua source. */
export function scriptTable(sources: Record<string, string>, numberOfKeys: number): ScriptTable {
  return Object.fromEntries(
    Object.entries(sources).map(([name, lua]) => [name, new LuaScript(lua, numberOfKeys)]),
  );
}

/**
 * Give `redis` a method per script (`redis.tetherAppend(...args)`), for stores that share
 * a connection: a name already defined is left as it is.
 */
export function defineScripts(redis: RedisConnection, scripts: ScriptTable): void {
  const methods = redis as unknown as Record<string, unknown>;
  for (const [name, script] of Object.entries(scripts))
    if (!(name in methods)) methods[name] = (...args: Argument[]) => script.run(redis, args);
}
