import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { Env } from "../config/env-subst.js";
import { parseConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { hashText, type LoadedConfig } from "./runtime.js";

/**
 * Reads, hashes and validates the config file (at start and on every reload). `adjust`
 * applies what the command line overrides (--port), so a reload keeps it.
 */
export async function readConfigFile(
  path: string,
  env: Env,
  adjust: (config: GatewayConfig) => GatewayConfig = (config) => config,
): Promise<LoadedConfig> {
  const absolute = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(absolute);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      result: { ok: false, problems: [{ path: "", message: `cannot read config file ${path}: ${reason}` }] },
      hash: null,
    };
  }
  const result = parseConfig(bytes.toString("utf8"), { baseDir: dirname(absolute), env, source: absolute });
  return { result: result.ok ? { ok: true, config: adjust(result.config) } : result, hash: hashText(bytes) };
}
