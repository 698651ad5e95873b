import type { ModelConfig } from "../config/types.js";

/** Whether a model routes by conversation: affinity on, and more than one instance or slot. */
export function routesByConversation(model: ModelConfig): boolean {
  if (!model.affinity) return false;
  // With one instance there is only a slot to choose, and only where slots are pinned: a model
  // that could not pin them would pay for the conversation keys and decide nothing.
  return model.instances + model.upstreams.length > 1 || (model.maxConcurrent > 1 && slotsPinnable(model));
}

/** llama-server's slot count is known and the gateway sends exactly that many requests at once. */
function slotsPinnable(model: ModelConfig): boolean {
  return model.llamaSlots === model.maxConcurrent;
}

/**
 * Whether its requests are pinned to llama-server slots (id_slot): only where the gateway knows
 * the slot count, since id_slot wraps around modulo the real count, so with more requests than
 * slots two would share one and wait inside llama-server.
 */
export function pinsSlots(model: ModelConfig): boolean {
  return routesByConversation(model) && slotsPinnable(model);
}

interface Slot {
  busy: boolean;
  /** The conversation key of the last request placed on it: what it holds (for saving). */
  key: string | null;
  /** performance.now() of its last release: the least recently used free slot is taken first. */
  lastUsedAt: number;
}

/** What one slot holds, for saving it. */
export interface HeldSlot {
  readonly slot: number;
  readonly key: string;
  readonly lastUsedAt: number;
}

/**
 * One local instance's llama-server slots as the gateway pins requests to them: which are busy,
 * what conversation each last held, and when it was last used.
 */
export class SlotTable {
  readonly #slots: Slot[] = [];

  /** maxConcurrent changed (a reload): busy slots beyond the new count are let go on release. */
  resize(count: number): void {
    while (this.#slots.length < count) this.#slots.push({ busy: false, key: null, lastUsedAt: 0 });
    this.#slots.length = count;
  }

  /**
   * Takes `wanted` if free, else the least recently used free slot, for a request of
   * conversation `key`; null when none is free (only after a reload shrank the table).
   */
  take(wanted: number | null, key: string | null): number | null {
    const slots = this.#slots;
    let chosen = wanted !== null && slots[wanted]?.busy === false ? wanted : -1;
    if (chosen === -1) {
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i] as Slot;
        if (!slot.busy && (chosen === -1 || slot.lastUsedAt < (slots[chosen] as Slot).lastUsedAt)) chosen = i;
      }
    }
    if (chosen === -1) return null;
    const slot = slots[chosen] as Slot;
    slot.busy = true;
    slot.key = key;
    return chosen;
  }

  release(index: number, now: number): void {
    const slot = this.#slots[index];
    if (slot === undefined) return;
    slot.busy = false;
    slot.lastUsedAt = now;
  }

  /** A new process: nothing is held any more. */
  forget(): void {
    for (const slot of this.#slots) {
      slot.key = null;
      slot.lastUsedAt = 0;
    }
  }

  /** The slots that hold a conversation. */
  held(): HeldSlot[] {
    const held: HeldSlot[] = [];
    this.#slots.forEach((slot, index) => {
      if (slot.key !== null) held.push({ slot: index, key: slot.key, lastUsedAt: slot.lastUsedAt });
    });
    return held;
  }
}
