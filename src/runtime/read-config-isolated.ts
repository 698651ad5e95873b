import { Worker } from "node:worker_threads";
import { deepFreeze } from "../config/deep-freeze.js";
import type { Env } from "../config/env-subst.js";
import { isSingleExecutable } from "../util/single-executable.js";
import type { ReadConfigOptions } from "./read-config.js";
import type { LoadedConfig } from "./runtime.js";

/** What the config worker is given (structured-cloned): readConfigFile's arguments without functions. */
export interface ConfigJob {
  readonly path: string | null;
  readonly env: Env;
  readonly modelsDir: string | null;
}

/**
 * readConfigFile (runtime/read-config.ts) in a short-lived worker thread: at start, on every
 * reload and in `check`. Parsing needs yaml and zod, about 20 MB of the main isolate's memory for
 * the process's whole life once loaded, for work done a few times a day; a worker's isolate is
 * freed when it exits (docs/architecture.md, "Memory"). The resolved config is plain data
 * (strings, numbers, booleans, arrays, plain objects, null), so it survives the structured clone
 * unchanged; the clone is not frozen, so it is frozen again here.
 *
 * The single executable has no worker file beside it: there the config is parsed in-process,
 * loaded on first use.
 */
export async function readConfigIsolated(
  path: string | null,
  env: Env,
  options: ReadConfigOptions = {},
): Promise<LoadedConfig> {
  const job: ConfigJob = { path, env: { ...env }, modelsDir: options.modelsDir ?? null };
  const loaded = isSingleExecutable() ? await inProcess(job) : await inWorker(job);
  if (!loaded.result.ok) return { ...loaded, result: deepFreeze(loaded.result) };
  const config = deepFreeze(loaded.result.config);
  return { ...loaded, result: { ok: true, config: options.adjust?.(config) ?? config } };
}

async function inProcess(job: ConfigJob): Promise<LoadedConfig> {
  const { readConfigFile } = await import("./read-config.js");
  return readConfigFile(job.path, job.env, { modelsDir: job.modelsDir });
}

/**
 * The worker beside this module. Run from source under tsx (tests, the bench's `--gateway src`),
 * it is a .ts file, and Node 20 does not give a worker the `--import tsx` hooks of its process:
 * a two-line bootstrap registers tsx in the worker first. Built, it is plain .js.
 */
function startWorker(job: ConfigJob): Worker {
  if (!import.meta.url.endsWith(".ts"))
    return new Worker(new URL("./config-worker.js", import.meta.url), { workerData: job });
  const entry = new URL("./config-worker.ts", import.meta.url).href;
  const tsx = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: job });
}

/** Settles once the worker has exited, so its isolate is gone before the answer is used. */
function inWorker(job: ConfigJob): Promise<LoadedConfig> {
  return new Promise((resolve, reject) => {
    let answer: LoadedConfig | null = null;
    const worker = startWorker(job);
    worker.once("message", (message: LoadedConfig) => {
      answer = message;
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (answer !== null) resolve(answer);
      else reject(new Error(`the config worker exited (code ${code}) without an answer`));
    });
  });
}
