/**
 * Shell-style patterns for names: `*` is any run of characters, `?` one character, everything
 * else literal. Used for key scopes (models, routes) and CORS origins; `stop` keeps `*` from
 * crossing a character (`/` in origins, so `https://*.example.com` cannot match a path).
 */
export function globToRegExp(pattern: string, stop = ""): RegExp {
  const any = stop === "" ? "[\\s\\S]*" : `[^${escapeClass(stop)}]*`;
  const one = stop === "" ? "[\\s\\S]" : `[^${escapeClass(stop)}]`;
  let source = "";
  for (const char of pattern) {
    if (char === "*") source += any;
    else if (char === "?") source += one;
    else source += char.replace(/[\\^$.|+()[\]{}]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

function escapeClass(chars: string): string {
  return chars.replace(/[\\\]^-]/g, "\\$&");
}

/** One predicate for a list of patterns: true when any of them matches. */
export function anyGlob(patterns: readonly string[], stop = ""): (name: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.includes("*") && !p.includes("?")));
  const globs = patterns.filter((p) => !exact.has(p)).map((p) => globToRegExp(p, stop));
  return (name) => exact.has(name) || globs.some((glob) => glob.test(name));
}
