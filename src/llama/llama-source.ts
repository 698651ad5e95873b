import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The llama.cpp source comes from the node-llama-cpp npm package: its tarball ships
 * `llama/gitRelease.bundle`, a git bundle of one llama.cpp commit. Pinning the package
 * version pins llama.cpp; we never depend on node-llama-cpp at run time.
 */
export const NODE_LLAMA_CPP_VERSION = "3.22.1";

export interface LlamaSource {
  readonly bundle: string;
  readonly commit: string;
}

/** Remembers which commit a pinned package version holds, so later runs need no download. */
function recordPath(cache: string): string {
  return join(cache, "sources", `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}.json`);
}

export async function knownCommit(cache: string): Promise<string | null> {
  try {
    const record = JSON.parse(await readFile(recordPath(cache), "utf8")) as { commit?: unknown };
    return typeof record.commit === "string" ? record.commit : null;
  } catch {
    return null;
  }
}

/** `npm pack` the pinned package into the cache, unpack only the bundle, read its commit. */
export async function fetchLlamaSource(cache: string, log: (line: string) => void): Promise<LlamaSource> {
  const dir = join(cache, "sources");
  await mkdir(dir, { recursive: true });
  const tarball = join(dir, `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}.tgz`);
  const bundle = join(
    dir,
    `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`,
    "package",
    "llama",
    "gitRelease.bundle",
  );
  log(`fetching node-llama-cpp@${NODE_LLAMA_CPP_VERSION} (it ships the llama.cpp source)`);
  await run("npm", ["pack", `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`, "--pack-destination", dir], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const unpackTo = join(dir, `node-llama-cpp-${NODE_LLAMA_CPP_VERSION}`);
  await mkdir(unpackTo, { recursive: true });
  await run("tar", ["-xzf", tarball, "-C", unpackTo, "package/llama/gitRelease.bundle"]);
  const { stdout } = await run("git", ["bundle", "list-heads", bundle]);
  const commit = stdout.trim().split(/\s+/)[0];
  if (!commit || !/^[0-9a-f]{40}$/.test(commit)) throw new Error(`cannot read the commit of ${bundle}`);
  await writeFile(recordPath(cache), `${JSON.stringify({ version: NODE_LLAMA_CPP_VERSION, commit })}\n`);
  return { bundle, commit };
}
