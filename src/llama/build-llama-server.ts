import { spawn } from "node:child_process";
import { access, copyFile, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Backend, buildDir, builtBinary } from "./cache-dir.js";
import { fetchLlamaSource, knownCommit } from "./llama-source.js";
import { missingTools } from "./toolchain.js";

export interface BuildOptions {
  readonly cache: string;
  readonly backend: Backend;
  /** Rebuild even when a cached binary exists. */
  readonly force: boolean;
  readonly log: (line: string) => void;
  /** Called with (done, total) as ninja reports `[done/total]`. */
  readonly progress: (done: number, total: number) => void;
}

export interface BuildResult {
  readonly binary: string;
  readonly commit: string;
  readonly cached: boolean;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Runs a command, streaming its output to `onLine`; rejects with the tail of its output. */
function runStep(command: string, args: readonly string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() === "") continue;
        onLine(line);
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${command} ${args.join(" ")} failed with exit code ${code}:\n${tail.join("\n")}`));
    });
  });
}

const CMAKE_FLAGS = [
  "-G",
  "Ninja",
  "-DCMAKE_BUILD_TYPE=Release",
  // One self-contained binary we can copy out of the build tree.
  "-DBUILD_SHARED_LIBS=OFF",
  "-DLLAMA_BUILD_TESTS=OFF",
  "-DLLAMA_BUILD_EXAMPLES=OFF",
  "-DLLAMA_USE_PREBUILT_UI=OFF",
  "-DLLAMA_OPENSSL=OFF",
];

/**
 * Builds only the `llama-server` target from the pinned llama.cpp commit, cached per user and
 * keyed by commit and backend. A second call with a cached binary returns at once.
 */
export async function buildLlamaServer(options: BuildOptions): Promise<BuildResult> {
  const { cache, backend, log } = options;
  const remembered = await knownCommit(cache);
  if (remembered && !options.force && (await exists(builtBinary(cache, remembered, backend)))) {
    return { binary: builtBinary(cache, remembered, backend), commit: remembered, cached: true };
  }
  const missing = await missingTools(backend === "cuda");
  if (missing.length > 0) {
    throw new Error(`cannot build llama-server, missing tools: ${missing.join(", ")}`);
  }
  const source = await fetchLlamaSource(cache, log);
  const dir = buildDir(cache, source.commit, backend);
  const src = join(dir, "src");
  const binary = builtBinary(cache, source.commit, backend);
  if (!options.force && (await exists(binary))) return { binary, commit: source.commit, cached: true };

  await mkdir(dir, { recursive: true });
  if (!(await exists(join(src, "CMakeLists.txt")))) {
    log(`cloning llama.cpp ${source.commit.slice(0, 12)}`);
    await runStep("git", ["clone", "--quiet", source.bundle, src], log);
  }
  const flags = backend === "cuda" ? [...CMAKE_FLAGS, "-DGGML_CUDA=ON"] : CMAKE_FLAGS;
  log(`configuring (${backend})`);
  await runStep("cmake", ["-S", src, "-B", join(dir, "build"), ...flags], () => {});
  log("building llama-server (several minutes on 2 cores)");
  await runStep("cmake", ["--build", join(dir, "build"), "--target", "llama-server"], (line) => {
    const match = /^\[(\d+)\/(\d+)\]/.exec(line);
    if (match) options.progress(Number(match[1]), Number(match[2]));
  });
  // Copy then rename so a reader never sees a half-written binary.
  await mkdir(join(dir, "bin"), { recursive: true });
  await copyFile(join(dir, "build", "bin", "llama-server"), `${binary}.tmp`);
  await rename(`${binary}.tmp`, binary);
  await writeFile(
    join(dir, "build.json"),
    `${JSON.stringify({ commit: source.commit, backend, builtAt: new Date().toISOString() })}\n`,
  );
  return { binary, commit: source.commit, cached: false };
}
