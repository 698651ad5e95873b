import type { ModelConfig } from "../../src/config/types.js";
import type { Limits } from "../../src/scheduler/eviction.js";
import type { Lease } from "../../src/scheduler/lease.js";
import { ModelGroup } from "../../src/scheduler/model-group.js";
import { Scheduler } from "../../src/scheduler/scheduler.js";
import { FakeBackend } from "./fake-backend.js";

/** A ModelConfig with test defaults: one instance, one slot, a queue of 10, 1 s queue timeout. */
export function modelConfig(id: string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    id,
    launch: { kind: "model", model: `/models/${id}.gguf`, args: [] },
    aliases: [],
    unlistedAliases: [],
    instances: 1,
    upstreams: [],
    startupTimeoutMs: 60_000,
    stopTimeoutMs: 5_000,
    env: {},
    ownedBy: "llamawrapper",
    pinned: false,
    preload: false,
    ttlMs: null,
    maxConcurrent: 1,
    maxQueue: 10,
    queueTimeoutMs: 1_000,
    firstByteTimeoutMs: 60_000,
    memoryBytes: null,
    cache: true,
    metrics: false,
    affinity: false,
    llamaSlots: 1,
    kvCache: false,
    sla: { ttftMs: null, latencyMs: null, availability: 0.99, windowMs: 3_600_000 },
    discoveredFrom: null,
    ...overrides,
  };
}

export interface HarnessOptions {
  readonly models: readonly ModelConfig[];
  readonly maxLoadedModels?: number;
  /** The starvation bound (scheduler.swapDelay); the config's default 10 s when absent. */
  readonly swapDelayMs?: number;
  /** How every fake backend's start behaves (see FakeBackend). */
  readonly start?: "succeed" | "hold";
}

/**
 * A Scheduler over ModelGroups of FakeBackends, wired like main.ts wires the real ones. Its
 * clock is Date.now, so a test that mocks Date and setTimeout (mock.timers) controls both the
 * scheduler's deadlines and the FIFO line's timers.
 */
export class Harness {
  readonly scheduler: Scheduler;
  readonly limits: Limits;
  /** onUnload calls, as "<id> <reason>". */
  readonly unloads: string[] = [];
  /** start/stop/kill calls of every backend, in order. */
  readonly journal: string[] = [];
  readonly #start: "succeed" | "hold";
  readonly #backends = new Map<ModelGroup, FakeBackend[]>();

  constructor(options: HarnessOptions) {
    this.limits = {
      maxLoadedModels: options.maxLoadedModels ?? 2,
      memoryBudgetBytes: null,
      swapDelayMs: options.swapDelayMs ?? 10_000,
    };
    this.#start = options.start ?? "succeed";
    this.scheduler = new Scheduler({
      limits: this.limits,
      memoryOf: async () => 0,
      onUnload: (id, reason) => this.unloads.push(`${id} ${reason}`),
      now: () => Date.now(),
    });
    this.scheduler.adopt(this.build(options.models), this.limits);
  }

  /** New groups (with new fake backends) for `models`, not adopted yet. */
  build(models: readonly ModelConfig[]): ModelGroup[] {
    const hooks = {
      onIdle: (group: ModelGroup) => this.scheduler.notifyIdle(group),
      onCooledDown: (group: ModelGroup) => this.scheduler.notifyCooledDown(group),
    };
    return models.map((model) => {
      const fakes = Array.from(
        { length: model.instances },
        (_, index) => new FakeBackend(`${model.id}#${index}`, { start: this.#start, journal: this.journal }),
      );
      const group = new ModelGroup(model, fakes, hooks);
      this.#backends.set(group, fakes);
      return group;
    });
  }

  /** The current group of `id`. */
  group(id: string): ModelGroup {
    const group = this.scheduler.group(id);
    if (group === undefined) throw new Error(`no group ${id}`);
    return group;
  }

  /** Instance `index` of `group` (the current group of that id when given an id). */
  backend(group: string | ModelGroup, index = 0): FakeBackend {
    const fakes = this.#backends.get(typeof group === "string" ? this.group(group) : group);
    const fake = fakes?.[index];
    if (fake === undefined) throw new Error(`no backend ${index} of that group`);
    return fake;
  }

  acquire(id: string | ModelGroup, signal = new AbortController().signal): Promise<Lease> {
    return this.scheduler.acquire(typeof id === "string" ? this.group(id) : id, signal);
  }

  /** Acquires and releases at once: the model was used now. */
  async use(id: string): Promise<void> {
    (await this.acquire(id)).release();
  }
}

/** Watches a promise without awaiting it, so a test can say whether it has settled yet. */
export interface Watched<T> {
  readonly promise: Promise<T>;
  settled: boolean;
  value: T | undefined;
  error: unknown;
}

export function watch<T>(promise: Promise<T>): Watched<T> {
  const watched: Watched<T> = { promise, settled: false, value: undefined, error: undefined };
  promise.then(
    (value) => {
      watched.settled = true;
      watched.value = value;
    },
    (error: unknown) => {
      watched.settled = true;
      watched.error = error;
    },
  );
  return watched;
}

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Lets every continuation that is already due run (a few event-loop turns, no timers): the way
 * to say "and nothing else happened" after a step. Waiting FOR something uses `eventually`.
 */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await turn();
}

/**
 * Turns the event loop until `check` holds, failing after `timeoutMs` of real time
 * (performance.now, which mock.timers leaves alone).
 */
export async function eventually(what: string, check: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await turn();
  }
}

/** The GatewayError code a rejection carries. */
export function codeOf(error: unknown): string {
  return typeof error === "object" && error !== null && "code" in error ? String(error.code) : String(error);
}
