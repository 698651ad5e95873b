#!/usr/bin/env node
import { parseCli } from "./args.js";
import { EXIT, type ExitCode } from "./exit-codes.js";
import { HELP } from "./help.js";
import { packageVersion } from "./package-info.js";

async function run(argv: readonly string[]): Promise<ExitCode> {
  let args: ReturnType<typeof parseCli>;
  try {
    args = parseCli(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  if (args.help) {
    process.stdout.write(HELP);
    return EXIT.ok;
  }
  if (args.version) {
    process.stdout.write(`${packageVersion()}\n`);
    return EXIT.ok;
  }
  // Each command is loaded when it runs: `serve` never loads what only `init` needs (yaml's
  // stringify) or `setup` (the llama.cpp build), which stays out of the gateway's memory.
  switch (args.command) {
    case "setup": {
      const { setupCommand } = await import("./commands/setup.js");
      return setupCommand({ cuda: args.cuda, force: args.force });
    }
    case "make-tiny-model": {
      const out = args.positionals[0];
      if (out === undefined) {
        process.stderr.write("make-tiny-model needs an output path: llamawrapper make-tiny-model OUT.gguf\n");
        return EXIT.usage;
      }
      const { makeTinyModelCommand } = await import("./commands/make-tiny-model.js");
      return makeTinyModelCommand(out, { vocab: args.vocab, seed: args.seed });
    }
    case "init": {
      if (args.modelsDir === undefined) {
        process.stderr.write(`init needs --models-dir DIR\n\n${HELP}`);
        return EXIT.usage;
      }
      const { initCommand } = await import("./commands/init.js");
      return initCommand(
        { modelsDir: args.modelsDir, out: args.out ?? null, force: args.force },
        process.stdout,
      );
    }
    case "check":
    case "serve": {
      if (args.config === undefined && args.modelsDir === undefined) {
        process.stderr.write(`${args.command} needs --config FILE or --models-dir DIR\n\n${HELP}`);
        return EXIT.usage;
      }
      if (args.command === "check") {
        const { checkCommand } = await import("./commands/check.js");
        return checkCommand(args.config ?? null, args.modelsDir ?? null, process.stdout);
      }
      const port = args.port === undefined ? undefined : Number(args.port);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
        process.stderr.write(`--port must be a port number, got ${args.port}\n`);
        return EXIT.usage;
      }
      const { serveCommand } = await import("./commands/serve.js");
      return serveCommand(args.config ?? null, port, {
        watch: args.watch,
        ...(args.modelsDir === undefined ? {} : { modelsDir: args.modelsDir }),
      });
    }
  }
}

run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`llamawrapper: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = EXIT.failure;
  },
);
