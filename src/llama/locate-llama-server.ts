import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { builtBinary } from "./cache-dir.js";
import { knownCommit } from "./llama-source.js";

async function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

export async function findOnPath(command: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/** The binary `llamawrapper setup` built for the pinned commit, if it is there. */
export async function findSetupBuild(cache: string): Promise<string | null> {
  const commit = await knownCommit(cache);
  if (!commit) return null;
  for (const backend of ["cuda", "cpu"] as const) {
    const binary = builtBinary(cache, commit, backend);
    if (await isExecutable(binary)) return binary;
  }
  return null;
}

/**
 * Which llama-server to run: the configured one, else `llama-server` on PATH, else the setup
 * build. Returns null when none exists, so the caller can say exactly what to do.
 */
export async function locateLlamaServer(
  configured: string | null,
  cache: string,
  env: NodeJS.ProcessEnv,
): Promise<string | null> {
  if (configured !== null) {
    if (configured.includes("/")) return (await isExecutable(configured)) ? configured : null;
    return findOnPath(configured, env);
  }
  return (await findOnPath("llama-server", env)) ?? (await findSetupBuild(cache));
}
