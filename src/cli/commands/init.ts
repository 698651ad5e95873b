import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { stringify } from "yaml";
import { type DiscoveredModel, discoverModels } from "../../discovery/discover.js";
import { discoveredEntry } from "../../runtime/read-config.js";
import { EXIT, type ExitCode } from "../exit-codes.js";

export interface InitOptions {
  readonly modelsDir: string;
  /** Where to write; null = standard output. */
  readonly out: string | null;
  readonly force: boolean;
}

const MAX_CONTEXT = 8192;

/** A YAML scalar, quoted only when it must be. */
const scalar = (value: unknown): string => stringify(value).trimEnd();

function modelBlock(model: DiscoveredModel, baseDir: string): string {
  const file = relative(baseDir, model.path) || model.path;
  const entry = discoveredEntry(model);
  const lines = [
    ...model.reasons.map((reason) => `  # ${reason}`),
    ...model.warnings.map((warning) => `  # warning: ${warning}`),
    `  ${scalar(model.id)}:`,
    `    model: ${scalar(file.startsWith(".") || file.startsWith("/") ? file : `./${file}`)}`,
    `    args: [${model.args.map(scalar).join(", ")}]`,
    ...(entry.memory === undefined
      ? []
      : [`    memory: ${entry.memory}   # every shard and the projector, with the KV cache`]),
  ];
  return lines.join("\n");
}

/**
 * `llamawrapper init --models-dir DIR [--out FILE]`: the config zero-config mode would run, written
 * out with the reasons for each choice, for users who want to take control. `check` accepts it
 * and it serves the same models as `--models-dir DIR`.
 */
export async function initCommand(options: InitOptions, stdout: NodeJS.WritableStream): Promise<ExitCode> {
  const out = options.out === null ? null : resolve(options.out);
  if (out !== null && existsSync(out) && !options.force) {
    process.stderr.write(`${options.out} exists; pass --force to overwrite it\n`);
    return EXIT.usage;
  }
  const dir = resolve(options.modelsDir);
  const found = await discoverModels(dir, { maxContext: MAX_CONTEXT, memoryBudgetBytes: null });
  if (found.models.length === 0) {
    process.stderr.write(`no usable .gguf file under ${options.modelsDir}\n`);
    for (const problem of found.problems)
      process.stderr.write(`skipped ${problem.path}: ${problem.message}\n`);
    return EXIT.invalidConfig;
  }
  const baseDir = out === null ? process.cwd() : dirname(out);
  const text = [
    `# Written by \`llamawrapper init --models-dir ${options.modelsDir}\`: the models found there, with the`,
    "# settings read from each file. Edit freely; `llamawrapper check --config THIS_FILE` validates it.",
    "server:",
    "  host: 127.0.0.1",
    "  port: 8080",
    "scheduler:",
    "  maxLoadedModels: 2",
    ...(found.problems.length === 0
      ? []
      : ["", "# Files skipped:", ...found.problems.map((p) => `#   ${p.path}: ${p.message}`)]),
    "",
    "models:",
    found.models.map((model) => modelBlock(model, baseDir)).join("\n\n"),
    "",
  ].join("\n");
  if (out === null) stdout.write(text);
  else {
    await writeFile(out, text);
    process.stderr.write(`wrote ${options.out}: ${found.models.length} model(s)\n`);
  }
  return EXIT.ok;
}
