import { resolve } from "node:path";
import { formatProblems } from "../../config/format-problems.js";
import { loadConfig } from "../../config/load.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/** `llamawrapper check --config FILE`: every problem with its path, non-zero when any. */
export async function checkCommand(configPath: string, out: NodeJS.WritableStream): Promise<ExitCode> {
  const result = await loadConfig(resolve(configPath), process.env);
  if (!result.ok) {
    const count = result.problems.length;
    out.write(
      `${configPath}: ${count} problem${count === 1 ? "" : "s"}\n${formatProblems(result.problems)}\n`,
    );
    return EXIT.invalidConfig;
  }
  const models = Object.keys(result.config.models);
  out.write(
    `${configPath}: ok (${models.length} model${models.length === 1 ? "" : "s"}: ${models.join(", ")})\n`,
  );
  return EXIT.ok;
}
