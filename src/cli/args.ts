import { parseArgs } from "node:util";

export const COMMANDS = ["serve", "check", "init", "setup", "make-tiny-model"] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  readonly command: Command;
  readonly positionals: readonly string[];
  readonly config: string | undefined;
  readonly help: boolean;
  readonly version: boolean;
  readonly cuda: boolean;
  readonly force: boolean;
  readonly vocab: string | undefined;
  readonly seed: string | undefined;
  readonly port: string | undefined;
  /** Poll the config file and reload when it changes. */
  readonly watch: boolean;
  /** Serve every .gguf file under this folder. */
  readonly modelsDir: string | undefined;
  /** `init`: where to write the config. */
  readonly out: string | undefined;
}

const OPTIONS = {
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
  cuda: { type: "boolean" },
  force: { type: "boolean" },
  vocab: { type: "string" },
  seed: { type: "string" },
  port: { type: "string" },
  watch: { type: "boolean" },
  "models-dir": { type: "string" },
  out: { type: "string", short: "o" },
} as const;

/** The seed's Go-style `-config file` form: one dash before a long option name. */
function normalizeSingleDash(arg: string): string {
  const match = /^-([a-z][a-z-]+)(=.*)?$/.exec(arg);
  if (match?.[1] !== undefined && Object.hasOwn(OPTIONS, match[1])) return `-${arg}`;
  return arg;
}

export function parseCli(argv: readonly string[]): CliArgs {
  const { values, positionals } = parseArgs({
    args: argv.map(normalizeSingleDash),
    options: OPTIONS,
    allowPositionals: true,
    strict: true,
  });
  const [first, ...rest] = positionals;
  const isCommand = first !== undefined && (COMMANDS as readonly string[]).includes(first);
  if (first !== undefined && !isCommand)
    throw new Error(`unknown command "${first}" (commands: ${COMMANDS.join(", ")})`);
  return {
    command: isCommand ? (first as Command) : "serve",
    positionals: isCommand ? rest : positionals,
    config: values.config,
    help: values.help ?? false,
    version: values.version ?? false,
    cuda: values.cuda ?? false,
    force: values.force ?? false,
    vocab: values.vocab,
    seed: values.seed,
    port: values.port,
    watch: values.watch ?? false,
    modelsDir: values["models-dir"],
    out: values.out,
  };
}
