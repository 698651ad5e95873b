import { formatProblems } from "../../config/format-problems.js";
import { readConfigIsolated } from "../../runtime/read-config-isolated.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

/**
 * `llamawrapper check --config FILE [--models-dir DIR]` (or only `--models-dir DIR`): every
 * problem with its path, non-zero when the config is invalid. Files of the models folder that
 * cannot be served are listed with their path and reason; they do not stop the others.
 */
export async function checkCommand(
  configPath: string | null,
  modelsDir: string | null,
  out: NodeJS.WritableStream,
): Promise<ExitCode> {
  const what = configPath ?? modelsDir ?? "";
  const loaded = await readConfigIsolated(configPath, process.env, { modelsDir });
  for (const problem of loaded.discovery?.problems ?? [])
    out.write(`skipped ${problem.path}: ${problem.message}\n`);
  for (const model of loaded.discovery?.models ?? [])
    for (const warning of model.warnings) out.write(`warning: ${model.id} (${model.path}): ${warning}\n`);
  const result = loaded.result;
  if (!result.ok) {
    const count = result.problems.length;
    out.write(`${what}: ${count} problem${count === 1 ? "" : "s"}\n${formatProblems(result.problems)}\n`);
    return EXIT.invalidConfig;
  }
  const models = Object.keys(result.config.models);
  out.write(`${what}: ok (${models.length} model${models.length === 1 ? "" : "s"}: ${models.join(", ")})\n`);
  return EXIT.ok;
}
