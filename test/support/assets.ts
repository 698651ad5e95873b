import { access, mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { buildLlamaServer } from "../../src/llama/build-llama-server.js";
import { cacheDir } from "../../src/llama/cache-dir.js";
import { makeTinyModel } from "../../src/llama/tiny-model.js";
import { findVocab } from "../../src/llama/vocab.js";

export interface TestAssets {
  readonly llamaServer: string;
  readonly tinyModel: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The real llama-server (the setup build, or $LLAMA_SERVER_BIN) and the tiny model the tests
 * run it on. Builds and writes them when missing, so `npm test` works on a fresh machine.
 */
export async function testAssets(log: (line: string) => void = () => {}): Promise<TestAssets> {
  const cache = cacheDir();
  const llamaServer =
    process.env.LLAMA_SERVER_BIN ??
    (
      await buildLlamaServer({
        cache,
        backend: "cpu",
        force: false,
        log,
        progress: (done, total) => {
          if (done === total || done % 20 === 0) log(`build [${done}/${total}]`);
        },
      })
    ).binary;
  const tinyModel = join(cache, "tiny-models", "tiny-seed1.gguf");
  if (!(await exists(tinyModel))) {
    const vocabPath = await findVocab(cache);
    if (vocabPath === null) throw new Error("no llama.cpp vocabulary file: the setup build did not run");
    await mkdir(join(cache, "tiny-models"), { recursive: true });
    // Written aside and renamed, so an interrupted run never leaves a truncated model behind.
    await makeTinyModel({ vocabPath, outPath: `${tinyModel}.tmp`, seed: 1 });
    await rename(`${tinyModel}.tmp`, tinyModel);
  }
  return { llamaServer, tinyModel };
}
