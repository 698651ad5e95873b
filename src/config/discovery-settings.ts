import { resolve } from "node:path";
import { type Env, substituteEnv } from "./env-subst.js";
import { parseSize } from "./size.js";
import { parseYaml } from "./yaml-parse.js";

/** What the folder discovery needs to know before the config can be validated as a whole. */
export interface DiscoverySettings {
  /** Absolute folder to discover, or null. */
  readonly dir: string | null;
  readonly maxContext: number;
  /** scheduler.memoryBudget when it is a fixed size (discovered contexts are lowered to fit). */
  readonly memoryBudgetBytes: number | null;
}

const DEFAULT_MAX_CONTEXT = 8192;

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/**
 * The discovery settings read leniently from the config text (the models found there are part
 * of what the full validation then checks). `dirOverride` is --models-dir, relative to the
 * working directory; the file's `discovery.dir` is relative to the file's folder.
 */
export function discoverySettings(
  text: string,
  env: Env,
  baseDir: string,
  dirOverride: string | null,
): DiscoverySettings {
  const yaml = parseYaml(text);
  const root = asRecord(yaml.problems.length > 0 ? {} : substituteEnv(yaml.value ?? {}, env).value);
  const discovery = asRecord(root.discovery);
  const budget = asRecord(root.scheduler).memoryBudget;
  const parsedBudget = typeof budget === "string" || typeof budget === "number" ? parseSize(budget) : null;
  const fileDir =
    typeof discovery.dir === "string" && discovery.dir !== "" ? resolve(baseDir, discovery.dir) : null;
  return {
    dir: dirOverride !== null ? resolve(dirOverride) : fileDir,
    maxContext:
      typeof discovery.maxContext === "number" &&
      Number.isInteger(discovery.maxContext) &&
      discovery.maxContext >= 512
        ? discovery.maxContext
        : DEFAULT_MAX_CONTEXT,
    memoryBudgetBytes: parsedBudget?.ok ? parsedBudget.value : null,
  };
}
