import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EMBEDDED, embedded, isSingleExecutable } from "../util/single-executable.js";

/** This package's version, found by walking up from this file (src/ under tsx, dist/src/ when built). */
export function packageVersion(): string {
  // The single executable has no package.json beside it: it carries its own.
  if (isSingleExecutable())
    return (JSON.parse(embedded(EMBEDDED.packageJson).toString("utf8")) as { version: string }).version;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "llamawrapper-gateway" && pkg.version) return pkg.version;
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  return "unknown";
}
