import type { ModelGroup } from "./model-group.js";

/**
 * One timer per idle resident model with a ttl: `expire` runs when the ttl passes without a
 * request (it re-checks that the model is still idle). Timers never keep the process alive.
 */
export class TtlTimers {
  readonly #timers = new Map<ModelGroup, NodeJS.Timeout>();
  readonly #expire: (group: ModelGroup) => void;

  constructor(expire: (group: ModelGroup) => void) {
    this.#expire = expire;
  }

  /** (Re)starts the group's timer if it is idle, resident and has a ttl. */
  schedule(group: ModelGroup): void {
    const ttl = group.model.ttlMs;
    if (ttl === null || !group.resident || group.holds > 0) return;
    this.cancel(group);
    const timer = setTimeout(() => {
      this.#timers.delete(group);
      this.#expire(group);
    }, ttl);
    timer.unref();
    this.#timers.set(group, timer);
  }

  cancel(group: ModelGroup): void {
    const timer = this.#timers.get(group);
    if (timer !== undefined) clearTimeout(timer);
    this.#timers.delete(group);
  }
}
