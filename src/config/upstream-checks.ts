import { resolve } from "node:path";
import type { Env } from "./env-subst.js";
import { keyFileError } from "./key-file.js";
import type { ParsedConfig } from "./schema.js";
import type { ConfigProblem } from "./types.js";

/**
 * What the schema cannot see about remote upstreams: names unique within a model (they name
 * its instances), a keyEnv that is set, a keyFile that holds a key (only with `checkFiles`).
 * Messages never include a key.
 */
export function upstreamProblems(
  config: ParsedConfig,
  baseDir: string,
  env: Env,
  checkFiles: boolean,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [id, model] of Object.entries(config.models)) {
    const names = new Map<string, number>();
    model.upstreams.forEach((upstream, i) => {
      const path = `models.${id}.upstreams.${i}`;
      const name = upstream.name ?? new URL(upstream.url).host;
      const first = names.get(name);
      if (first === undefined) names.set(name, i);
      else
        problems.push({
          path: `${path}.name`,
          message: `"${name}" already names upstream ${first}: give each a distinct name`,
        });
      if (upstream.keyEnv !== undefined && !env[upstream.keyEnv])
        problems.push({
          path: `${path}.keyEnv`,
          message: `the environment variable ${upstream.keyEnv} is not set`,
        });
      if (checkFiles && upstream.keyFile !== undefined) {
        const message = keyFileError(resolve(baseDir, upstream.keyFile), upstream.keyFile);
        if (message !== null) problems.push({ path: `${path}.keyFile`, message });
      }
    });
  }
  return problems;
}
