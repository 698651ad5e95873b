import { basename, resolve } from "node:path";
import { describeGgufModel, ggufNumber, ggufString } from "../llama/gguf-model-info.js";
import type { GgufFile } from "../llama/gguf-reader.js";
import { batchArgs, chooseContext } from "./context-choice.js";
import { inspectGguf } from "./inspect-file.js";
import { uniqueIds } from "./model-id.js";
import { chooseKind, type KindChoice, type ModelKind } from "./model-kind.js";
import { attachProjectors, isProjector, type Projector, projectionDim } from "./projectors.js";
import { groupShards, type ModelFiles } from "./split-files.js";
import { fingerprintOf, listGgufFiles } from "./walk.js";

export interface DiscoveryOptions {
  /** Cap on the context size chosen from the model's n_ctx_train (default cap 8192 in the config). */
  readonly maxContext: number;
  /** scheduler.memoryBudget in bytes, or null: the chosen context is also lowered so the model's memory estimate fits (never below 512). */
  readonly memoryBudgetBytes: number | null;
}

export interface DiscoveredModel {
  /** Safe and unique model id from the file name (see model-id.ts). */
  readonly id: string;
  /** Absolute path of the model file (the first shard of a split model). */
  readonly path: string;
  /** Absolute path of a multimodal projector attached with --mmproj, or null. */
  readonly mmproj: string | null;
  readonly kind: ModelKind;
  /** n_ctx_train from the metadata, or null. */
  readonly trainedContext: number | null;
  /** The context size chosen (-c), or null when the model states none. */
  readonly context: number | null;
  /** The llama-server flags chosen, e.g. ["-c","8192"], ["-c","512","--embeddings","--pooling","mean"]. */
  readonly args: readonly string[];
  /** One line per default: what was chosen and the metadata it came from, for `init`'s comments and logs. */
  readonly reasons: readonly string[];
  /** E.g. "no chat template in the file: /v1/chat/completions will use llama-server's fallback". */
  readonly warnings: readonly string[];
  /** Bytes of the model's files (all shards), without the projector. */
  readonly fileBytes: number;
  /** Every file of the model in shard order: [path] unless split. */
  readonly shards: readonly string[];
  /** scheduler/memory-estimate.ts's estimate at the chosen context, one instance, with all shards. */
  readonly estimatedBytes: number;
}

export interface DiscoveryProblem {
  readonly path: string;
  readonly message: string;
}

export interface Discovery {
  readonly models: readonly DiscoveredModel[];
  /** Files skipped, each with why; one file's problem does not stop the others. */
  readonly problems: readonly DiscoveryProblem[];
  /** Changes when a .gguf file under dir appears, disappears or changes size/mtime (for --watch polling). */
  readonly fingerprint: string;
}

/** Files parsed at once: headers are a few MB each, and a folder may hold hundreds. */
const PARALLEL_READS = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** GGUF files that llama-server cannot serve with -m (gguf-py's GGUFType). */
const NOT_MODELS: Readonly<Record<string, string>> = {
  adapter: "a LoRA adapter",
  imatrix: "an importance matrix",
};

type Read = { files: ModelFiles; header: GgufFile } | { problem: DiscoveryProblem };

/** Reads every shard (each must be complete), and keeps the first shard's header. */
async function readModel(files: ModelFiles): Promise<Read> {
  let header: GgufFile | undefined;
  for (const shard of files.shards) {
    const inspected = await inspectGguf(shard.path);
    if (!inspected.ok) return { problem: { path: shard.path, message: inspected.message } };
    header ??= inspected.file;
  }
  if (header === undefined) throw new Error("unreachable: a model has at least one file");
  const splitCount = ggufNumber(header.metadata, "split.count") ?? 1;
  // llama-model-loader.cpp derives the shard names from the first one and wants them all.
  if (splitCount !== files.shards.length) {
    const message = `split.count says ${splitCount} files, found ${files.shards.length} named as shards of it`;
    return { problem: { path: files.first.path, message } };
  }
  const type = ggufString(header.metadata, "general.type") ?? "";
  const notModel = NOT_MODELS[type];
  if (notModel !== undefined) {
    return {
      problem: { path: files.first.path, message: `${notModel} (general.type ${type}), not a model` },
    };
  }
  return { files, header };
}

interface TextModel {
  readonly files: ModelFiles;
  readonly header: GgufFile;
  readonly kind: KindChoice;
}

interface Attached {
  readonly path: string;
  readonly bytes: number;
}

function describe(
  model: TextModel,
  id: string,
  mmproj: Attached | null,
  options: DiscoveryOptions,
): DiscoveredModel {
  const fileBytes = model.files.shards.reduce((sum, s) => sum + s.size, 0);
  // Every shard is mapped, and the projector is loaded beside the model.
  const info = { ...describeGgufModel(model.header), fileSize: fileBytes + (mmproj?.bytes ?? 0) };
  const kind = model.kind;
  const contextKey = `${info.architecture ?? "<arch>"}.context_length`;
  const context = chooseContext(info, options, contextKey);
  const batch = batchArgs(kind.kind, context.context);
  const shards = model.files.shards.map((s) => s.path);
  const reasons = [...kind.reasons, ...context.reasons, ...batch.reasons];
  if (shards.length > 1) reasons.push(`split model: ${shards.length} shards, loaded from the first`);
  if (mmproj !== null) reasons.push(`--mmproj ${basename(mmproj.path)}: the projector in its folder`);
  return {
    id,
    path: model.files.first.path,
    mmproj: mmproj?.path ?? null,
    kind: kind.kind,
    trainedContext: info.contextLength ?? null,
    context: context.context,
    args: [
      ...context.args,
      ...kind.args,
      ...batch.args,
      ...(mmproj === null ? [] : ["--mmproj", mmproj.path]),
    ],
    reasons,
    warnings: [...kind.warnings, ...context.warnings],
    fileBytes,
    shards,
    estimatedBytes: context.estimatedBytes,
  };
}

/**
 * Every model under `dir` with the llama-server flags its own metadata suggests. Throws only
 * when `dir` itself cannot be read; every file's own trouble becomes a problem.
 */
export async function discoverModels(dir: string, options: DiscoveryOptions): Promise<Discovery> {
  const listing = await listGgufFiles(dir);
  const grouped = groupShards(listing.files);
  const problems: DiscoveryProblem[] = [...listing.problems, ...grouped.problems];
  const reads = await mapLimit(grouped.models, PARALLEL_READS, readModel);

  const text: TextModel[] = [];
  const projectors: Projector[] = [];
  for (const read of reads) {
    if ("problem" in read) problems.push(read.problem);
    else if (isProjector(read.files.first.path, read.header.metadata))
      projectors.push({ path: read.files.first.path, projectionDim: projectionDim(read.header.metadata) });
    else text.push({ ...read, kind: chooseKind(read.header.metadata) });
  }
  // Projectors feed generating models; an embedding model has no use for one.
  const attachable = text
    .filter((m) => m.kind.kind === "chat" || m.kind.kind === "completion")
    .map((m) => ({ path: m.files.first.path, embeddingLength: describeGgufModel(m.header).embeddingLength }));
  const attached = attachProjectors(projectors, attachable);
  problems.push(...attached.problems);
  const sizes = new Map(listing.files.map((f) => [f.path, f.size]));
  const projectorOf = (model: TextModel): Attached | null => {
    const path = attached.byModel.get(model.files.first.path);
    return path === undefined ? null : { path, bytes: sizes.get(path) ?? 0 };
  };

  const ids = uniqueIds(text.map((m) => m.files.first.path));
  const models = text.map((m, i) => describe(m, ids[i] ?? "model", projectorOf(m), options));
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { models, problems, fingerprint: fingerprintOf(listing.files) };
}

/** Cheap: only names, sizes and mtimes of the .gguf files (no GGUF parsing), same value as Discovery.fingerprint. */
export async function folderFingerprint(dir: string): Promise<string> {
  return fingerprintOf((await listGgufFiles(resolve(dir))).files);
}
