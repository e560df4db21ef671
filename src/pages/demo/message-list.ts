/**
 * The demo's message list: one row per channel event, in arrival order, and a pending
 * row for each message typed here until the gateway has stored it — a message typed
 * offline waits in the SDK's offline queue and looks like it (grey, "sending when
 * reconnected"), not like an error. Each message carries a client-made `mid`, so its
 * own event replaces its pending row instead of showing twice.
 */
import type { ChannelEvent } from '../../../packages/client/src/index.ts';

export interface ChatMessage {
  user?: unknown;
  text?: unknown;
  /** The sender's own ID for the message, to match its event to its pending row. */
  mid?: unknown;
}

export class MessageList {
  private readonly pending = new Map<string, HTMLLIElement>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly empty: HTMLElement,
  ) {}

  /** A message typed here: a pending row until its event arrives. */
  addPending(message: ChatMessage & { mid: string }, waitingFor: 'ack' | 'connection'): void {
    const li = row(message, undefined);
    li.classList.add('pending');
    li.dataset.mid = message.mid;
    this.setPendingNote(li, waitingFor === 'connection' ? 'pending — sends when reconnected' : 'sending…');
    this.pending.set(message.mid, li);
    this.append(li);
  }

  /** The gateway stored it (ack): it is no longer queued, its event is on the way. */
  stored(mid: string): void {
    const li = this.pending.get(mid);
    if (li) this.setPendingNote(li, 'sent');
  }

  /** It could not be sent: say why, on its own row. */
  failed(mid: string, reason: string): void {
    const li = this.pending.get(mid);
    if (!li) return;
    this.pending.delete(mid);
    li.classList.replace('pending', 'failed');
    this.setPendingNote(li, `not sent: ${reason}`);
  }

  /** A channel event: it replaces its pending row when it is ours, else it is appended. */
  show(event: ChannelEvent): void {
    const message = (event.data ?? {}) as ChatMessage;
    const fresh = row(message, event);
    const mid = typeof message.mid === 'string' ? message.mid : undefined;
    const pending = mid === undefined ? undefined : this.pending.get(mid);
    if (mid !== undefined && pending) {
      this.pending.delete(mid);
      pending.replaceWith(fresh);
    } else this.append(fresh);
  }

  private append(li: HTMLLIElement): void {
    this.empty.hidden = true;
    this.list.append(li);
    li.scrollIntoView({ block: 'nearest' });
  }

  private setPendingNote(li: HTMLLIElement, note: string): void {
    const el = li.querySelector('.note') as HTMLElement;
    el.textContent = note;
  }
}

function row(message: ChatMessage, event: ChannelEvent | undefined): HTMLLIElement {
  const li = document.createElement('li');
  const time = document.createElement('time');
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = typeof message.user === 'string' ? message.user : 'backend';
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = typeof message.text === 'string' ? message.text : JSON.stringify(event?.data ?? message);
  const note = document.createElement('span');
  note.className = 'note';
  if (event) {
    li.dataset.id = event.id;
    time.dateTime = new Date(event.ts).toISOString();
    time.textContent = new Date(event.ts).toLocaleTimeString();
    note.className = 'id';
    note.textContent = event.id;
  } else time.textContent = new Date().toLocaleTimeString();
  li.append(time, who, text, note);
  return li;
}
