import { copyFile, mkdir, stat, truncate } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir } from "../../src/llama/cache-dir.js";
import { makeTinyModel } from "../../src/llama/tiny-model.js";
import { findVocab } from "../../src/llama/vocab.js";

/** A folder of tiny models of every kind discovery tells apart, and the paths written. */
export interface ModelFolder {
  readonly dir: string;
  /** Has a chat template: a chat model. */
  readonly chat: string;
  /** llama.pooling_type 1 (mean), n_ctx_train 512: an embedding model. */
  readonly embed: string;
  /** Both shards of the split model `big`, first shard first. */
  readonly big: readonly [string, string];
  /** No chat template: a completion model. */
  readonly plain: string;
  /** chat.gguf cut in half, as a copy in progress looks. */
  readonly truncated: string;
}

/** The llama.cpp vocabulary of the setup build (`npm test` prepares it). */
export async function vocabPath(): Promise<string> {
  const vocab = await findVocab(cacheDir());
  if (vocab === null) throw new Error("no llama.cpp vocabulary file: the setup build did not run");
  return vocab;
}

/**
 * Writes chat.gguf, embed.gguf, big-00001-of-00002.gguf + big-00002-of-00002.gguf, plain.gguf
 * and truncated.gguf into `dir` (created if needed): about 85 MB, a second or two.
 */
export async function makeModelFolder(dir: string): Promise<ModelFolder> {
  const vocab = await vocabPath();
  await mkdir(dir, { recursive: true });
  const chat = join(dir, "chat.gguf");
  await makeTinyModel({ vocabPath: vocab, outPath: chat, seed: 1 });
  const embed = join(dir, "embed.gguf");
  await makeTinyModel({
    vocabPath: vocab,
    outPath: embed,
    seed: 2,
    contextLength: 512,
    extraMetadata: [["llama.pooling_type", { type: "uint32", value: 1 }]],
  });
  const split = await makeTinyModel({
    vocabPath: vocab,
    outPath: join(dir, "big.gguf"),
    seed: 3,
    splitCount: 2,
  });
  const [first = "", second = ""] = split.shards;
  const plain = join(dir, "plain.gguf");
  await makeTinyModel({ vocabPath: vocab, outPath: plain, seed: 4, chatTemplate: null });
  const truncated = join(dir, "truncated.gguf");
  await copyFile(chat, truncated);
  const { size } = await stat(chat);
  await truncate(truncated, Math.floor(size / 2));
  return { dir, chat, embed, big: [first, second], plain, truncated };
}
