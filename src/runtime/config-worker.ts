import { parentPort, workerData } from "node:worker_threads";
import { readConfigFile } from "./read-config.js";
import type { ConfigJob } from "./read-config-isolated.js";

/**
 * The config worker's entry (read-config-isolated.ts starts it): reads, parses and validates the
 * config in this thread's own isolate, so yaml and zod are loaded here and freed with it when
 * it exits, never in the gateway's main isolate. Posts one LoadedConfig (plain data) and ends.
 */
const job = workerData as ConfigJob;
parentPort?.postMessage(await readConfigFile(job.path, job.env, { modelsDir: job.modelsDir }));
