import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A tool the build needs, and the Debian package that provides it. */
interface Tool {
  readonly command: string;
  readonly debianPackage: string;
}

const TOOLS: readonly Tool[] = [
  { command: "git", debianPackage: "git" },
  { command: "cmake", debianPackage: "cmake" },
  { command: "ninja", debianPackage: "ninja-build" },
  { command: "c++", debianPackage: "g++" },
  { command: "tar", debianPackage: "tar" },
];

async function has(command: string): Promise<boolean> {
  try {
    await run(command, ["--version"], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Every missing tool, each with the package to install (all of them at once, not one per run). */
export async function missingTools(cuda: boolean): Promise<string[]> {
  const tools = cuda ? [...TOOLS, { command: "nvcc", debianPackage: "nvidia-cuda-toolkit" }] : TOOLS;
  const missing: string[] = [];
  for (const tool of tools) {
    if (!(await has(tool.command))) missing.push(`${tool.command} (Debian package: ${tool.debianPackage})`);
  }
  return missing;
}
