import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { type ConfigIdentity, sameConfig } from "./config-identity.js";
import { DEFAULT_PROC_ROOT, readBootId } from "./proc-stat.js";
import { type ReapDeps, type ReapedChild, reapOrphans } from "./reap-orphans.js";

export interface LiveGateway {
  readonly gatewayPid: number;
  readonly config: ConfigIdentity;
}

export interface StaleReapResult {
  /** Orphans stopped, from the records of every gateway that died without cleaning up. */
  readonly reaped: readonly ReapedChild[];
  /** Live gateways that serve the same config file as this one: this one must not start. */
  readonly conflicts: readonly LiveGateway[];
}

/** Record files: `gateway-<pid>.json` (and the older per-config `<hash>.json`); never a `.tmp`. */
const RECORD_NAME = /^[\w-]+\.json$/;

/**
 * Reads every record in the per-user folder `dir`: the records of dead gateways are reaped
 * (their proven orphans stopped, the file deleted), those of live gateways are left alone and
 * only compared with `config`. Whatever path an earlier run's config was given by, its orphans
 * are found here. All records at once: startup waits one grace period at most.
 */
export async function reapStaleRecords(
  dir: string,
  deps: ReapDeps & { readonly config: ConfigIdentity | null },
): Promise<StaleReapResult> {
  // Without a boot id nothing can be proven, and every record would look like another boot's:
  // deleting them would blind the live gateways' next runs. Touch nothing.
  if (readBootId(deps.procRoot ?? DEFAULT_PROC_ROOT) === null) return { reaped: [], conflicts: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => RECORD_NAME.test(name)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      deps.log("cannot list runtime records", { dir, error: (error as Error).message });
    }
    return { reaped: [], conflicts: [] };
  }
  const results = await Promise.all(names.map((name) => reapOrphans(join(dir, name), deps)));
  const reaped: ReapedChild[] = [];
  const conflicts: LiveGateway[] = [];
  for (const result of results) {
    if (result.kind === "reaped") reaped.push(...result.reaped);
    if (result.kind === "live-gateway" && result.config !== null && sameConfig(result.config, deps.config)) {
      conflicts.push({ gatewayPid: result.gatewayPid, config: result.config });
    }
  }
  return { reaped, conflicts };
}
