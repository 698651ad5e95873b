import { accessSync, constants, statSync } from "node:fs";
import { resolve } from "node:path";
import type { ConfigProblem } from "./types.js";

/**
 * The part of a config the file checks read, loosely typed: they also run on a config whose
 * shape is still wrong elsewhere, so that `check` reports a missing file together with the
 * other mistakes instead of one round later.
 */
interface FileView {
  readonly llamaServer?: { readonly binary?: unknown } | null;
  readonly models?: Readonly<
    Record<string, { readonly model?: unknown; readonly cmd?: unknown } | null>
  > | null;
}

function asView(tree: unknown): FileView {
  return typeof tree === "object" && tree !== null ? (tree as FileView) : {};
}

/**
 * Files the config names that must exist before anything is spawned: each model's GGUF file,
 * a `cmd[0]` or `llamaServer.binary` given as a path (one with a `/`; a bare name is looked up
 * on PATH at spawn time). Messages show the path as written; it is resolved against baseDir.
 */
export function fileProblems(tree: unknown, baseDir: string): ConfigProblem[] {
  const config = asView(tree);
  const problems: ConfigProblem[] = [];
  const check = (path: string, shown: string, executable: boolean) => {
    const message = fileError(shown, resolve(baseDir, shown), executable);
    if (message !== null) problems.push({ path, message });
  };
  const binary = config.llamaServer?.binary;
  if (typeof binary === "string" && binary.includes("/")) check("llamaServer.binary", binary, true);
  const models = typeof config.models === "object" && config.models !== null ? config.models : {};
  for (const [id, model] of Object.entries(models)) {
    if (typeof model !== "object" || model === null) continue;
    if (typeof model.model === "string") check(`models.${id}.model`, model.model, false);
    const program: unknown = Array.isArray(model.cmd) ? model.cmd[0] : undefined;
    if (typeof program === "string" && program.includes("/")) check(`models.${id}.cmd.0`, program, true);
  }
  return problems;
}

function fileError(shown: string, absolute: string, executable: boolean): string | null {
  let isFile: boolean;
  try {
    const stat = statSync(absolute, { throwIfNoEntry: false });
    if (stat === undefined) return `file not found: ${shown}`;
    isFile = stat.isFile();
  } catch (error) {
    return `cannot read ${shown}: ${errorCode(error)}`;
  }
  if (!isFile) return `not a file: ${shown}`;
  try {
    accessSync(absolute, executable ? constants.X_OK : constants.R_OK);
  } catch (error) {
    return `${executable ? "not executable" : "not readable"}: ${shown} (${errorCode(error)})`;
  }
  return null;
}

function errorCode(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") return error.code;
  return String(error);
}
