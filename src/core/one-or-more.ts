/**
 * A set for the usual case of one member: the member itself, and a real Set only once a
 * second one joins. A connection actor's observers (the supervisor's subscription) sit in
 * one of these instead of XState's Set: ~40 bytes instead of ~150 (src/core/actor-system.ts).
 * Only what XState's actor uses of a Set: add, delete, has, clear, size, iteration.
 */
export class OneOrMore<T> {
  private one: T | undefined;
  private more: Set<T> | undefined;

  get size(): number {
    return this.more ? this.more.size : this.one === undefined ? 0 : 1;
  }

  add(member: T): this {
    if (this.more) this.more.add(member);
    else if (this.one === undefined || this.one === member) this.one = member;
    else {
      this.more = new Set([this.one, member]);
      this.one = undefined;
    }
    return this;
  }

  delete(member: T): boolean {
    if (this.more) return this.more.delete(member);
    if (this.one !== member || member === undefined) return false;
    this.one = undefined;
    return true;
  }

  has(member: T): boolean {
    return this.more ? this.more.has(member) : member !== undefined && this.one === member;
  }

  clear(): void {
    this.one = undefined;
    this.more = undefined;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    // As a Set's own iterator: one that leaves while the others are told is skipped.
    if (this.more) yield* this.more;
    else if (this.one !== undefined) yield this.one;
  }
}
