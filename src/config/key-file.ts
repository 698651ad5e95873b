import { readFileSync } from "node:fs";
import { KEY_PATTERN } from "./key-pattern.js";

/** The key in a key file: its first line, without surrounding whitespace. */
export function readKeyFile(path: string): string {
  const text = readFileSync(path, "utf8");
  return (text.split(/\r?\n/, 1)[0] ?? "").trim();
}

/** Why a key file cannot serve as a key, or null when it can. Never includes the key. */
export function keyFileError(path: string, shown: string): string | null {
  let key: string;
  try {
    key = readKeyFile(path);
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    return `cannot read key file ${shown} (${code})`;
  }
  if (key === "") return `key file ${shown} is empty: its first line must be the key`;
  if (!KEY_PATTERN.test(key)) return `key file ${shown}: the key must be printable ASCII without spaces`;
  return null;
}
