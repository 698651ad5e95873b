import { basename } from "node:path";
import { SPLIT_SUFFIX } from "./model-id.js";
import type { GgufEntry } from "./walk.js";

/** The files of one model: one file, or every shard of a split model in order. */
export interface ModelFiles {
  /** What llama-server is given with -m: the file, or the first shard. */
  readonly first: GgufEntry;
  readonly shards: readonly GgufEntry[];
}

export interface Grouped {
  readonly models: readonly ModelFiles[];
  readonly problems: readonly { readonly path: string; readonly message: string }[];
}

const pad = (n: number): string => String(n).padStart(5, "0");

/**
 * Gathers `name-0000i-of-0000N.gguf` shards into one model at the first shard, the only one
 * llama-server accepts (llama-model-loader.cpp: "model must be loaded with the first split"),
 * and only when every shard is there: the loader derives the other names from the first and
 * fails the whole load on a missing one. Other files pass through as one-file models.
 */
export function groupShards(files: readonly GgufEntry[]): Grouped {
  const models: ModelFiles[] = [];
  const problems: { path: string; message: string }[] = [];
  const groups = new Map<string, { prefix: string; count: number; byIndex: Map<number, GgufEntry> }>();
  for (const file of files) {
    const match = SPLIT_SUFFIX.exec(basename(file.path));
    if (match === null) {
      models.push({ first: file, shards: [file] });
      continue;
    }
    const index = Number(match[1]);
    const count = Number(match[2]);
    const prefix = file.path.slice(0, file.path.length - match[0].length);
    if (index < 1 || index > count) {
      problems.push({ path: file.path, message: `split shard ${index} of ${count}: no such shard number` });
      continue;
    }
    const key = `${prefix}\0${count}`;
    const group = groups.get(key) ?? { prefix, count, byIndex: new Map<number, GgufEntry>() };
    groups.set(key, group);
    group.byIndex.set(index, file);
  }
  for (const { prefix, count, byIndex } of groups.values()) {
    const shards: GgufEntry[] = [];
    const missing: string[] = [];
    for (let i = 1; i <= count; i++) {
      const shard = byIndex.get(i);
      if (shard === undefined) missing.push(`${basename(prefix)}-${pad(i)}-of-${pad(count)}.gguf`);
      else shards.push(shard);
    }
    const [first] = shards;
    if (first === undefined) continue; // unreachable: a group has at least one shard
    if (missing.length > 0) {
      const list = missing.join(", ");
      problems.push({ path: first.path, message: `split model incomplete: missing shard ${list}` });
      continue;
    }
    models.push({ first, shards });
  }
  models.sort((a, b) => (a.first.rel < b.first.rel ? -1 : a.first.rel > b.first.rel ? 1 : 0));
  return { models, problems };
}
