import { execFile } from "node:child_process";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

async function onPath(command: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    const candidate = join(dir, command);
    const ok = await access(candidate, constants.X_OK).then(
      () => true,
      () => false,
    );
    if (ok) return candidate;
  }
  return null;
}

let aptUpdated = false;

/**
 * The path of `command`, installing Debian package `pkg` first when it is missing and we are
 * root with apt-get (the only place the bench installs anything). Returns the reason instead
 * of a path when it cannot be had, so the caller can skip with a note.
 */
export async function ensureTool(
  command: string,
  pkg: string,
  log: (line: string) => void,
): Promise<{ path: string } | { missing: string }> {
  const found = await onPath(command);
  if (found !== null) return { path: found };
  const apt = await onPath("apt-get");
  if (apt === null || process.getuid?.() !== 0) {
    return { missing: `${command} not found (install the Debian package \`${pkg}\`)` };
  }
  try {
    log(`installing ${pkg} with apt-get (once; bench setup only)`);
    const options = { timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
    if (!aptUpdated) await run(apt, ["update", "-qq"], options);
    aptUpdated = true;
    await run(apt, ["install", "-y", "-qq", "--no-install-recommends", pkg], options);
  } catch (error) {
    return {
      missing: `${command} missing and \`apt-get install ${pkg}\` failed: ${(error as Error).message}`,
    };
  }
  const installed = await onPath(command);
  return installed === null ? { missing: `${pkg} installed but ${command} not found` } : { path: installed };
}

/** First line of `command args` (stdout or stderr), for the machine label; null when it fails. */
export async function versionOf(command: string, args: readonly string[]): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(command, [...args], { timeout: 10_000 });
    return (`${stdout}${stderr}`.trim().split("\n")[0] ?? "").trim() || null;
  } catch (error) {
    // wrk -v exits 1 after printing its version.
    const out = `${(error as { stdout?: string }).stdout ?? ""}${(error as { stderr?: string }).stderr ?? ""}`;
    return out.trim().split("\n")[0]?.trim() || null;
  }
}
