import { fileURLToPath } from "node:url";

/** The repository root: the bench runs from anywhere, paths are resolved from here. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Scratch space of a run (ignored by git): configs, logs, nginx temp dirs, profiles. */
export const SCRATCH = `${ROOT}.bench`;
export const FAKE_SERVER = `${ROOT}test/fixtures/fake-llama-server.ts`;
export const FLOOR_PROXY = `${ROOT}bench/systems/floor-proxy.ts`;
/** tsx's loader as a URL, so `node --import` finds it from any working directory. */
export const TSX_LOADER = import.meta.resolve("tsx");
