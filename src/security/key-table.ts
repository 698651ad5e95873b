import { readKeyFile } from "../config/key-file.js";
import type { AuthConfig, KeySecret, RateLimits } from "../config/security-types.js";
import { anyGlob } from "../util/glob.js";
import { constantTimeEqual, digestKey } from "./key-digest.js";

export type KeyKind = "user" | "admin";

export interface KeyEntry {
  readonly name: string;
  readonly kind: KeyKind;
  readonly digest: Buffer;
  /** Whether any of a model's names (id, aliases) is in this key's scope. */
  readonly allowsModel: (names: readonly string[]) => boolean;
  /** Whether this key may call the path (admin paths are decided by kind, not here). */
  readonly allowsRoute: (path: string) => boolean;
  readonly limits: RateLimits;
}

export interface KeyTableDeps {
  /** Reads a key file; injectable so tests need no files. */
  readonly readKeyFile?: (path: string) => string;
  /** The digest comparison; constantTimeEqual unless a test injects a spy. */
  readonly compare?: (a: Buffer, b: Buffer) => boolean;
}

const EVERYTHING = () => true;

/**
 * The configured keys as digests. `identify` compares the presented key's digest with every
 * entry, without stopping at a match, so the time it takes depends on neither which key
 * matched nor whether one did; a missing key does the same work as a wrong one.
 */
export class KeyTable {
  readonly compare: (a: Buffer, b: Buffer) => boolean;
  readonly #entries: readonly KeyEntry[];

  constructor(entries: readonly KeyEntry[], compare: (a: Buffer, b: Buffer) => boolean = constantTimeEqual) {
    this.#entries = entries;
    this.compare = compare;
  }

  static fromConfig(auth: AuthConfig, adminLimits: RateLimits, deps: KeyTableDeps = {}): KeyTable {
    const read = deps.readKeyFile ?? readKeyFile;
    const secret = (source: KeySecret) =>
      digestKey(source.kind === "inline" ? source.key : read(source.path));
    const entries: KeyEntry[] = [
      ...auth.apiKeys.map((key) => ({
        name: key.name,
        kind: "user" as const,
        digest: secret(key.secret),
        allowsModel: key.models === null ? EVERYTHING : namesMatcher(key.models),
        allowsRoute: key.routes === null ? EVERYTHING : anyGlob(key.routes),
        limits: key.rateLimit,
      })),
      ...auth.adminKeys.map((key) => ({
        name: key.name,
        kind: "admin" as const,
        digest: secret(key.secret),
        allowsModel: EVERYTHING,
        allowsRoute: EVERYTHING,
        limits: adminLimits,
      })),
    ];
    return new KeyTable(entries, deps.compare);
  }

  /** No keys configured: the gateway is open. */
  get isEmpty(): boolean {
    return this.#entries.length === 0;
  }

  identify(presented: string | null): KeyEntry | null {
    const digest = digestKey(presented ?? "");
    let found: KeyEntry | null = null;
    for (const entry of this.#entries) {
      const equal = this.compare(digest, entry.digest);
      if (equal && found === null) found = entry;
    }
    return presented === null ? null : found;
  }
}

function namesMatcher(patterns: readonly string[]): (names: readonly string[]) => boolean {
  const matches = anyGlob(patterns);
  return (names) => names.some(matches);
}
