import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where per-user build products live: $LLAMAWRAPPER_CACHE, else $XDG_CACHE_HOME/llamawrapper,
 * else ~/.cache/llamawrapper. Builds are keyed by llama.cpp commit so several versions coexist.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LLAMAWRAPPER_CACHE) return env.LLAMAWRAPPER_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "llamawrapper");
}

export type Backend = "cpu" | "cuda";

/** The folder of one build: holds src/ (the llama.cpp clone), build/ (CMake) and bin/llama-server. */
export function buildDir(cache: string, commit: string, backend: Backend): string {
  return join(cache, "llama-server", `${commit.slice(0, 12)}-${backend}`);
}

export function builtBinary(cache: string, commit: string, backend: Backend): string {
  return join(buildDir(cache, commit, backend), "bin", "llama-server");
}
