import type { ErrorDialect } from "../errors/render.js";

/** /v1/messages and all under it; the router also finds them without `/v1` and with a trailing slash. */
const ANTHROPIC_PATHS = /^(?:\/v1)?\/messages(?:\/|$)/;

/**
 * The error shape of a path, decided from the path alone, so that the refusals of the steps
 * before routing (host, CORS, key, rate limit, body limit) and a 404 or 405 under it speak the
 * same dialect as the route's own errors: Anthropic's for /v1/messages and everything under it
 * (count_tokens), whose clients are Anthropic's SDKs; OpenAI's everywhere else.
 */
export function errorDialectOf(path: string): ErrorDialect {
  return ANTHROPIC_PATHS.test(path) ? "anthropic" : "openai";
}
