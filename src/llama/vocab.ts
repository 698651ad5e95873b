import { access } from "node:fs/promises";
import { join } from "node:path";
import { buildDir } from "./cache-dir.js";
import { knownCommit } from "./llama-source.js";

/** The tokenizer the tiny models copy: llama.cpp's 32k SentencePiece vocabulary file. */
export const TINY_VOCAB = "ggml-vocab-llama-spm.gguf";

/** The vocab file inside the llama.cpp clone that `setup` made, or null before setup ran. */
export async function findVocab(cache: string): Promise<string | null> {
  const commit = await knownCommit(cache);
  if (commit === null) return null;
  for (const backend of ["cpu", "cuda"] as const) {
    const path = join(buildDir(cache, commit, backend), "src", "models", TINY_VOCAB);
    const found = await access(path).then(
      () => true,
      () => false,
    );
    if (found) return path;
  }
  return null;
}
