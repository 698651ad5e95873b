import { buildLlamaServer } from "../../llama/build-llama-server.js";
import { cacheDir } from "../../llama/cache-dir.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/** A progress line every 5% when not on a terminal (CI logs), a live line on a terminal. */
function progressPrinter(err: NodeJS.WriteStream): (done: number, total: number) => void {
  let lastShown = -1;
  return (done, total) => {
    const percent = Math.floor((done / total) * 100);
    if (err.isTTY) {
      err.write(`\r  [${done}/${total}] ${percent}%`);
      if (done === total) err.write("\n");
    } else if (percent >= lastShown + 5 || done === total) {
      lastShown = percent;
      err.write(`  [${done}/${total}] ${percent}%\n`);
    }
  };
}

/** `llamawrapper setup [--cuda] [--force]`: build llama-server once per llama.cpp commit. */
export async function setupCommand(options: { cuda: boolean; force: boolean }): Promise<ExitCode> {
  const err = process.stderr;
  const started = Date.now();
  try {
    const result = await buildLlamaServer({
      cache: cacheDir(),
      backend: options.cuda ? "cuda" : "cpu",
      force: options.force,
      log: (line) => err.write(`setup: ${line}\n`),
      progress: progressPrinter(err),
    });
    const how = result.cached ? "already built" : `built in ${Math.round((Date.now() - started) / 1000)}s`;
    process.stdout.write(`${result.binary}\n`);
    err.write(`setup: llama-server for llama.cpp ${result.commit.slice(0, 12)} ${how}\n`);
    return EXIT.ok;
  } catch (error) {
    err.write(`setup: ${(error as Error).message}\n`);
    return EXIT.llamaServer;
  }
}
