import type { RateLimits } from "../config/security-types.js";
import type { KeyEntry } from "./key-table.js";

/** The names a model answers to; a key's model scope may match any of them. */
export interface ModelNames {
  readonly id: string;
  readonly aliases: readonly string[];
  readonly unlistedAliases: readonly string[];
}

/**
 * Who is asking, decided once per request before any route runs: `open` when no keys are
 * configured, `public` on routes that need no key (/health), else the key that matched.
 * `none` is what a request has until then, and it may use nothing.
 */
export interface Access {
  readonly kind: "none" | "open" | "public" | "user" | "admin";
  /** The key's name for logs; null without a key. Never the key itself. */
  readonly keyName: string | null;
  readonly limits: RateLimits;
  /**
   * Whether this caller may use the model. A model it may not use does not exist for it: every
   * route that takes a model answers 404 model_not_found, exactly as for an unknown name
   * (routes/model-lookup.ts), so a scoped key cannot learn which other models are configured.
   */
  mayUse(model: ModelNames): boolean;
}

const ALL = () => true;

export function noAccess(limits: RateLimits): Access {
  return {
    kind: "none",
    keyName: null,
    limits,
    mayUse: () => false,
  };
}

export function openAccess(limits: RateLimits): Access {
  return { kind: "open", keyName: null, limits, mayUse: ALL };
}

export function publicAccess(limits: RateLimits): Access {
  return { kind: "public", keyName: null, limits, mayUse: ALL };
}

/** One Access per key, built once: requests with the same key share it. */
export function keyAccess(entry: KeyEntry): Access {
  // Models are frozen config: each answer is worked out (names gathered, globs run) once.
  const decided = new WeakMap<ModelNames, boolean>();
  const mayUse = (model: ModelNames) => {
    let allowed = decided.get(model);
    if (allowed === undefined) {
      allowed = entry.allowsModel([model.id, ...model.aliases, ...model.unlistedAliases]);
      decided.set(model, allowed);
    }
    return allowed;
  };
  return { kind: entry.kind, keyName: entry.name, limits: entry.limits, mayUse };
}
