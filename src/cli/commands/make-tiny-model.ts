import { resolve } from "node:path";
import { cacheDir } from "../../llama/cache-dir.js";
import { makeTinyModel } from "../../llama/tiny-model.js";
import { findVocab } from "../../llama/vocab.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/** `llamawrapper make-tiny-model OUT.gguf [--vocab FILE] [--seed N]`. */
export async function makeTinyModelCommand(
  out: string,
  options: { vocab: string | undefined; seed: string | undefined },
): Promise<ExitCode> {
  const err = process.stderr;
  const vocabPath = options.vocab ?? (await findVocab(cacheDir()));
  if (vocabPath === null) {
    err.write(
      "no vocabulary file: run `llamawrapper setup` first (it brings llama.cpp's models/), or pass --vocab FILE\n",
    );
    return EXIT.llamaServer;
  }
  const seed = options.seed === undefined ? 1 : Number(options.seed);
  if (!Number.isInteger(seed)) {
    err.write(`--seed must be an integer, got ${options.seed}\n`);
    return EXIT.usage;
  }
  const result = await makeTinyModel({ vocabPath, outPath: resolve(out), seed });
  err.write(`wrote ${result.path} (${(result.bytes / 1e6).toFixed(1)} MB, ${result.vocabSize} tokens)\n`);
  return EXIT.ok;
}
