import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { DiscoveredEntries } from "../config/discovered-entries.js";
import { discoverySettings } from "../config/discovery-settings.js";
import type { Env } from "../config/env-subst.js";
import { parseConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { type DiscoveredModel, type Discovery, discoverModels } from "../discovery/discover.js";
import { hashText } from "./config-hash.js";
import type { LoadedConfig } from "./runtime.js";

export interface ReadConfigOptions {
  /** Applies what the command line overrides (--port), so a reload keeps it. */
  readonly adjust?: (config: GatewayConfig) => GatewayConfig;
  /** --models-dir: discover this folder (relative to the working directory), over discovery.dir. */
  readonly modelsDir?: string | null;
}

/**
 * Reads, hashes and validates the config (at start and on every reload): the file, or with
 * `path` null only --models-dir. When a folder is to be discovered, its .gguf files are read
 * first and become models that go through the same validation as written ones.
 */
export async function readConfigFile(
  path: string | null,
  env: Env,
  options: ReadConfigOptions = {},
): Promise<LoadedConfig> {
  const absolute = path === null ? null : resolve(path);
  let bytes = Buffer.alloc(0);
  if (absolute !== null) {
    try {
      bytes = await readFile(absolute);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return {
        result: {
          ok: false,
          problems: [{ path: "", message: `cannot read config file ${path}: ${reason}` }],
        },
        hash: null,
        discovery: null,
      };
    }
  }
  const text = bytes.toString("utf8");
  const baseDir = absolute === null ? process.cwd() : dirname(absolute);
  const settings = discoverySettings(text, env, baseDir, options.modelsDir ?? null);
  let discovery: Discovery | null = null;
  let discovered: DiscoveredEntries | undefined;
  if (settings.dir !== null) {
    try {
      discovery = await discoverModels(settings.dir, {
        maxContext: settings.maxContext,
        memoryBudgetBytes: settings.memoryBudgetBytes,
      });
    } catch (error) {
      // The folder itself cannot be read (missing, not a folder, no permission): a config problem.
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      return {
        result: {
          ok: false,
          problems: [
            { path: "discovery.dir", message: `cannot read the models folder ${settings.dir} (${reason})` },
          ],
        },
        hash: null,
        discovery: null,
      };
    }
    discovered = Object.fromEntries(
      discovery.models.map((model) => [model.id, { entry: discoveredEntry(model), from: model.path }]),
    );
  }
  const result = parseConfig(text, {
    baseDir,
    env,
    source: absolute,
    ...(discovered === undefined ? {} : { discovered }),
  });
  const dir = settings.dir;
  const adjust = (config: GatewayConfig): GatewayConfig => {
    const withDir =
      dir === config.discovery.dir ? config : { ...config, discovery: { ...config.discovery, dir } };
    return options.adjust?.(withDir) ?? withDir;
  };
  return {
    result: result.ok ? { ok: true, config: adjust(result.config) } : result,
    hash: hashText(Buffer.concat([bytes, Buffer.from(discovery?.fingerprint ?? "")])),
    discovery,
  };
}

/**
 * The config entry for a discovered model. The scheduler estimates memory from the `-m` file
 * alone, which undercounts a split model or one with a projector: those carry discovery's own
 * estimate (every shard, the projector, the KV cache at the chosen context).
 */
export function discoveredEntry(model: DiscoveredModel): Record<string, unknown> {
  const whole = model.shards.length > 1 || model.mmproj !== null;
  return { model: model.path, args: [...model.args], ...(whole ? { memory: model.estimatedBytes } : {}) };
}
