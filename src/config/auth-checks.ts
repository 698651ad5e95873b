import { resolve } from "node:path";
import { anyGlob } from "../util/glob.js";
import { keyFileError } from "./key-file.js";
import type { ParsedConfig } from "./schema.js";
import type { ConfigProblem } from "./types.js";

/**
 * The auth rules a schema cannot see: a name says which key was used, so names are unique; a
 * key listed twice would make that name ambiguous; a model scope that matches no model is a
 * typo that would lock the key out; a key file must hold a key (only with `checkFiles`).
 * Messages never include a key.
 */
export function authProblems(config: ParsedConfig, baseDir: string, checkFiles: boolean): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const names = new Map<string, string>();
  const inlineKeys = new Map<string, string>();
  const modelNames = Object.entries(config.models).flatMap(([id, model]) => [
    id,
    ...model.aliases,
    ...model.unlistedAliases,
  ]);
  const entries = [
    ...config.auth.apiKeys.map((entry, i) => ({ entry, path: `auth.apiKeys.${i}` })),
    ...config.auth.adminKeys.map((entry, i) => ({ entry, path: `auth.adminKeys.${i}` })),
  ];
  for (const { entry, path } of entries) {
    const key = typeof entry === "string" ? entry : entry.key;
    if (key !== undefined) {
      const first = inlineKeys.get(key);
      if (first === undefined) inlineKeys.set(key, path);
      else problems.push({ path, message: `the same key is already listed at ${first}` });
    }
    if (typeof entry === "string") continue;
    const first = names.get(entry.name);
    if (first === undefined) names.set(entry.name, path);
    else problems.push({ path: `${path}.name`, message: `"${entry.name}" already names ${first}` });
    if (checkFiles && entry.keyFile !== undefined) {
      const message = keyFileError(resolve(baseDir, entry.keyFile), entry.keyFile);
      if (message !== null) problems.push({ path: `${path}.keyFile`, message });
    }
  }
  config.auth.apiKeys.forEach((entry, k) => {
    if (typeof entry === "string") return;
    entry.models?.forEach((pattern, i) => {
      if (!modelNames.some(anyGlob([pattern]))) {
        const path = `auth.apiKeys.${k}.models.${i}`;
        problems.push({ path, message: `"${pattern}" matches no model id or alias` });
      }
    });
  });
  return problems;
}
