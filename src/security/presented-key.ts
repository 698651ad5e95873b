import type { IncomingHttpHeaders } from "node:http";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The key a client sent: `Authorization: Bearer KEY` (OpenAI clients) or `x-api-key: KEY`
 * (Anthropic clients). Anything else, an Authorization of another scheme included, counts as
 * no key, so a malformed and a missing key get the very same answer.
 */
export function presentedKey(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (authorization !== undefined) return BEARER.exec(authorization)?.[1] ?? null;
  const apiKey = headers["x-api-key"];
  const value = Array.isArray(apiKey) ? apiKey[0] : apiKey;
  return value === undefined || value === "" || /\s/.test(value) ? null : value;
}
