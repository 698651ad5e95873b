import { hash } from "node:crypto";

/**
 * Request fields that never change the answer: who asks (`user`, `metadata`), how it is
 * delivered (`stream`, `stream_options`), and `model`, which the key holds as the resolved id
 * instead, so every alias of a model shares its entries.
 */
const NOT_IN_KEY: ReadonlySet<string> = new Set(["model", "user", "metadata", "stream", "stream_options"]);

/** Bumped when the key's form or the stored answer's form changes: old entries then miss. */
const KEY_VERSION = "1";

/**
 * JSON with every object's keys sorted, so two bodies that differ only in key order (or in
 * whitespace) give the same text. Arrays keep their order: it is meaning (messages, prompts).
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const object = value as Record<string, unknown>;
    const parts: string[] = [];
    for (const key of Object.keys(object).sort()) {
      if (object[key] === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${canonicalJson(object[key])}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * The cache key of one request: SHA-256 over the route, the resolved model id, the fingerprint
 * of its launch settings (launch-fingerprint.ts: a config or file change makes old entries
 * unreachable) and every body field that can change the answer, in canonical JSON.
 */
export function cacheKey(
  route: string,
  modelId: string,
  fingerprint: string,
  body: Readonly<Record<string, unknown>>,
): string {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(body)) if (!NOT_IN_KEY.has(key)) fields[key] = body[key];
  return hash(
    "sha256",
    `${KEY_VERSION}\n${route}\n${modelId}\n${fingerprint}\n${canonicalJson(fields)}`,
    "hex",
  );
}
