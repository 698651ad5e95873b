import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { authProblems } from "./auth-checks.js";
import { deepFreeze } from "./deep-freeze.js";
import { type DiscoveredEntries, withDiscovered } from "./discovered-entries.js";
import { type Env, substituteEnv } from "./env-subst.js";
import { fileProblems } from "./file-checks.js";
import { looseNames, nameProblems } from "./name-checks.js";
import { resolveConfig } from "./resolve.js";
import { configSchema } from "./schema.js";
import type { ConfigProblem, ConfigResult } from "./types.js";
import { upstreamProblems } from "./upstream-checks.js";
import { parseYaml } from "./yaml-parse.js";
import { problemsFromZod } from "./zod-problems.js";

export interface ParseConfigOptions {
  /** Folder relative paths in the file are resolved against (the config file's folder). */
  readonly baseDir: string;
  /** Where `${env:NAME}` is looked up; pass process.env in production, a literal in tests. */
  readonly env: Env;
  /** Path of the file the text came from, or null; becomes GatewayConfig.source (absolute). */
  readonly source: string | null;
  /** Whether model files and binaries must exist; false for `check --no-files` and for tests. Default true. */
  readonly checkFiles?: boolean;
  /** Models found in discovery.dir (runtime/read-config.ts); written entries win on conflicts. */
  readonly discovered?: DiscoveredEntries;
}

/**
 * YAML → env substitution → schema → names and files → resolved, deeply frozen config.
 * Every problem is reported at once, not just the first: the name and file checks also run
 * on a misshapen config, as far as they can read it.
 */
export function parseConfig(text: string, options: ParseConfigOptions): ConfigResult {
  const yaml = parseYaml(text);
  if (yaml.problems.length > 0) return fail(yaml.problems);
  const empty = yaml.value === null || yaml.value === undefined;
  if (empty && options.discovered === undefined) {
    return fail([{ path: "", message: "the config is empty; it needs at least a models section" }]);
  }

  const env = substituteEnv(empty ? {} : yaml.value, options.env);
  const merged =
    options.discovered === undefined
      ? { value: env.value, added: new Map<string, string>() }
      : withDiscovered(env.value, options.discovered, (path) => resolve(options.baseDir, path));
  const substituted = { ...env, value: merged.value };
  const schema = configSchema();
  const parsed = schema.safeParse(substituted.value);
  // A value still holding an unset ${env:X} fails the schema too; the env problem says why.
  const envPaths = new Set(substituted.problems.map((problem) => problem.path));
  const schemaProblems = parsed.success ? [] : problemsFromZod(parsed.error.issues, schema);
  const shapeProblems = [...substituted.problems, ...schemaProblems.filter((p) => !envPaths.has(p.path))];
  if (!parsed.success || shapeProblems.length > 0) {
    // Missing files are reported in the same round as the shape mistakes.
    // So are clashing names, read from the raw value as far as it goes.
    const seen = new Set(shapeProblems.map((problem) => problem.path));
    const files =
      options.checkFiles === false ? [] : fileProblems(substituted.value, resolve(options.baseDir));
    const names = nameProblems(looseNames(substituted.value));
    return fail([...shapeProblems, ...[...files, ...names].filter((problem) => !seen.has(problem.path))]);
  }

  const baseDir = resolve(options.baseDir);
  const checkProblems = [
    ...nameProblems(parsed.data),
    ...authProblems(parsed.data, baseDir, options.checkFiles !== false),
    ...upstreamProblems(parsed.data, baseDir, options.env, options.checkFiles !== false),
    ...(options.checkFiles === false ? [] : fileProblems(parsed.data, baseDir)),
  ];
  if (checkProblems.length > 0) return fail(checkProblems);

  const config = resolveConfig(parsed.data, baseDir, options.source, options.env);
  const models = Object.fromEntries(
    Object.entries(config.models).map(([id, model]) => [
      id,
      { ...model, discoveredFrom: merged.added.get(id) ?? null },
    ]),
  );
  return { ok: true, config: deepFreeze({ ...config, models }) };
}

/** Reads and parses a config file; relative paths in it are relative to the file's folder. */
export async function loadConfig(path: string, env: Env = process.env): Promise<ConfigResult> {
  const absolute = resolve(path);
  let text: string;
  try {
    text = await readFile(absolute, "utf8");
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return fail([{ path: "", message: `cannot read config file ${path}: ${reason}` }]);
  }
  return parseConfig(text, { baseDir: dirname(absolute), env, source: absolute });
}

function fail(problems: readonly ConfigProblem[]): ConfigResult {
  return { ok: false, problems: deepFreeze([...problems]) };
}
