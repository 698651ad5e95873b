import { access, mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir } from "../../src/llama/cache-dir.js";
import { makeTinyModel } from "../../src/llama/tiny-model.js";
import { findVocab } from "../../src/llama/vocab.js";

/**
 * The model of scenario 9 (conversation-affine routing): large enough that a ~7k-token prompt
 * takes seconds to prefill on 2 cores, small enough that the scenario fits in a few minutes.
 * Measured on the 2-vCPU bench machine with llama-server `-np 1 -c 8192 -fa off`, a 7,147-token
 * chat prompt: prefill (timings.prompt_ms) 3.4–3.6 s cold, 28–35 ms for the next turn when the
 * slot still holds the conversation (about 120× faster), valid words out. The 160M-parameter
 * model measured before took 20 s for the same prefill.
 *
 * Flash attention must be off (`-fa off`, the default `auto` turns it on for CPU): with it, this
 * build's CPU flash-attention kernel costs about 0.3 s for a 40-token turn over a 7k-token
 * cache, whatever the model size, so a cache hit was only 5× faster than a cold prefill.
 */
export const CONVERSATION_MODEL = {
  embeddingLength: 256,
  blockCount: 4,
  feedForwardLength: 1024,
  headCount: 4,
  contextLength: 8192,
  matrixType: "F32",
} as const;

/** llama-server's arguments besides the slots and the context: see CONVERSATION_MODEL. */
export const CONVERSATION_MODEL_ARGS = ["-fa", "off"] as const;

export function conversationModelName(): string {
  const m = CONVERSATION_MODEL;
  return `conv-e${m.embeddingLength}-b${m.blockCount}-f${m.feedForwardLength}-h${m.headCount}-c${m.contextLength}-${m.matrixType.toLowerCase()}`;
}

/** Parameters, as a reader counts them: embeddings, output and the (zero) blocks. */
export function conversationModelParams(vocabSize = 32000): number {
  const m = CONVERSATION_MODEL;
  const e = m.embeddingLength;
  const block = 4 * e * e + 3 * e * m.feedForwardLength + 2 * e;
  return 2 * vocabSize * e + e + m.blockCount * block;
}

/**
 * The model file, written once into the cache's tiny-models folder (about 83 MB, under a
 * second), under a name that encodes its dimensions; written aside and renamed like
 * testAssets does, so an interrupted run never leaves a truncated model behind.
 */
export async function conversationModel(): Promise<{ path: string; bytes: number }> {
  const cache = cacheDir();
  const dir = join(cache, "tiny-models");
  const path = join(dir, `${conversationModelName()}.gguf`);
  const present = await access(path).then(
    () => true,
    () => false,
  );
  if (!present) {
    const vocabPath = await findVocab(cache);
    if (vocabPath === null) throw new Error("no llama.cpp vocabulary file: run `npx llamawrapper setup`");
    await mkdir(dir, { recursive: true });
    const aside = `${path}.${process.pid}.tmp`;
    await makeTinyModel({ vocabPath, outPath: aside, seed: 1, ...CONVERSATION_MODEL });
    await rename(aside, path);
  }
  return { path, bytes: (await stat(path)).size };
}
