import { execFile } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT, SCRATCH, TSX_LOADER } from "./paths.js";

const run = promisify(execFile);
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");

/** How the gateway process is started: node, its flags, the CLI entry. */
export interface GatewayCommand {
  readonly label: string;
  readonly nodeArgs: readonly string[];
  readonly entry: string;
}

async function git(args: readonly string[]): Promise<string> {
  const { stdout } = await run("git", [...args], { cwd: ROOT, timeout: 30_000 });
  return stdout.trim();
}

async function tscBuild(dir: string): Promise<void> {
  try {
    await run(process.execPath, [TSC, "-p", "tsconfig.build.json"], { cwd: dir, timeout: 300_000 });
  } catch (error) {
    const out = (error as { stdout?: string }).stdout ?? (error as Error).message;
    throw new Error(
      `building the gateway in ${dir} failed:\n${out.split("\n").slice(0, 15).join("\n")}\n` +
        "Fix the build, or measure the last commit with --gateway head (or src/ through tsx with --gateway src).",
    );
  }
}

/**
 * Which gateway the bench measures:
 * - `dist` (default): the working tree built with `tsc -p tsconfig.build.json`, run as users run it;
 * - `head`: the last commit, exported with `git archive` into .bench/ and built there, so a tree
 *   that others are editing can still be measured;
 * - `src`: src/cli/bin.ts through tsx (no build step);
 * - a path to a built `bin.js`.
 */
export async function resolveGateway(mode: string, log: (line: string) => void): Promise<GatewayCommand> {
  if (mode === "src") {
    return {
      label: "src/cli/bin.ts via tsx",
      nodeArgs: ["--import", TSX_LOADER],
      entry: join(ROOT, "src/cli/bin.ts"),
    };
  }
  if (mode === "dist") {
    log("building the gateway (tsc -p tsconfig.build.json)");
    await tscBuild(ROOT);
    return {
      label: "dist/src/cli/bin.js (working tree)",
      nodeArgs: [],
      entry: join(ROOT, "dist/src/cli/bin.js"),
    };
  }
  if (mode === "head") {
    const commit = await git(["rev-parse", "HEAD"]);
    const dir = join(SCRATCH, "gateway-head", commit.slice(0, 12));
    const entry = join(dir, "dist/src/cli/bin.js");
    if (!existsSync(entry)) {
      log(`exporting and building HEAD (${commit.slice(0, 12)}) in ${dir}`);
      mkdirSync(dir, { recursive: true });
      const files = ["src", "package.json", "tsconfig.json", "tsconfig.build.json"];
      await run("sh", ["-c", `git archive HEAD ${files.join(" ")} | tar -x -C "${dir}"`], {
        cwd: ROOT,
        timeout: 60_000,
      });
      if (!existsSync(join(dir, "node_modules")))
        symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      await tscBuild(dir);
    }
    return { label: `dist of HEAD ${commit.slice(0, 12)} (git archive)`, nodeArgs: [], entry };
  }
  if (!existsSync(mode))
    throw new Error(`--gateway ${mode}: no such file (use dist, head, src or a bin.js path)`);
  return { label: mode, nodeArgs: [], entry: mode };
}
