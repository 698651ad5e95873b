import { basename } from "node:path";
import { MODEL_NAME_MAX, modelNameError } from "../config/model-name.js";

/** llama_split_path's suffix (`-%05d-of-%05d.gguf`), as llama.cpp's loader recognises it. */
export const SPLIT_SUFFIX = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** Room kept for the "-NN" that makes a duplicate unique. */
const SUFFIX_ROOM = 4;

/**
 * The id a file is served under: its name without `.gguf` and without a split suffix, with
 * accents dropped (é → e) and every other character outside [A-Za-z0-9._-] turned into `-`.
 * The id travels into URLs, logs and metric labels (see config/model-name.ts), so it keeps to
 * a narrower alphabet than model names allow: no `/` or `:` from a file name.
 */
export function idFromFileName(path: string): string {
  const stem = basename(path)
    .replace(SPLIT_SUFFIX, "")
    .replace(/\.gguf$/i, "");
  const safe = stem
    .normalize("NFKD")
    .replace(/\p{M}/gu, "") // the combining marks NFKD split off
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-.]+|-+$/g, "") // hidden-looking or dangling
    .slice(0, MODEL_NAME_MAX - SUFFIX_ROOM);
  return modelNameError(safe) === null ? safe : "model";
}

/**
 * Ids for files in the order given (sorted paths): the first file with a name keeps it, later
 * ones get -2, -3, ... skipping ids that another file has as its own name.
 */
export function uniqueIds(paths: readonly string[]): string[] {
  const wanted = paths.map(idFromFileName);
  const taken = new Set<string>();
  // Plain ids first, so "a-2.gguf" keeps its own name even when it sorts after a duplicate "a".
  const plain = new Set<string>();
  const ids = wanted.map((id) => {
    if (plain.has(id)) return null;
    plain.add(id);
    taken.add(id);
    return id;
  });
  return wanted.map((id, i) => {
    const own = ids[i];
    if (own !== null && own !== undefined) return own;
    let n = 2;
    while (taken.has(`${id}-${n}`)) n++;
    taken.add(`${id}-${n}`);
    return `${id}-${n}`;
  });
}
