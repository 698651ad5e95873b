import { createHash } from "node:crypto";

/** SHA-256 of a config file's bytes (and of the models folder's listing): what a reload and --watch compare. */
export function hashText(text: string | Buffer): string {
  return createHash("sha256").update(text).digest("hex");
}
