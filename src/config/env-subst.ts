import type { ConfigProblem } from "./types.js";

export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvSubstResult {
  readonly value: unknown;
  readonly problems: readonly ConfigProblem[];
}

/**
 * `${env:NAME}` or `${env:NAME:-default}`. Only the `env:` prefix is ours: `${PORT}`, `${MODEL}`
 * and `${API_KEY}` in `cmd` are left for the spawner, which fills them per instance.
 */
const REFERENCE = /\$\{env:([^}]*)\}/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replaces environment references in every string value of a parsed YAML tree (keys are left
 * alone: a key that changes with the environment would make the schema unpredictable).
 * Like the shell's `:-`, the default is used when the variable is unset or empty; a default
 * cannot contain `}`. Substituted text is not scanned again, so a variable's value is taken
 * literally. Returns a new tree; every missing variable is reported with the dotted path of
 * the value it was in.
 */
export function substituteEnv(tree: unknown, env: Env): EnvSubstResult {
  const problems: ConfigProblem[] = [];
  const value = walk(tree, [], env, problems);
  return { value, problems };
}

function walk(node: unknown, path: readonly string[], env: Env, problems: ConfigProblem[]): unknown {
  if (typeof node === "string") return substituteString(node, path.join("."), env, problems);
  if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, String(i)], env, problems));
  if (node !== null && typeof node === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      // defineProperty, not assignment: a YAML key "__proto__" must stay a plain key.
      Object.defineProperty(out, key, {
        value: walk(child, [...path, key], env, problems),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return node;
}

function substituteString(text: string, path: string, env: Env, problems: ConfigProblem[]): string {
  return text.replace(REFERENCE, (whole, inner: string) => {
    const parsed = NAME_AND_DEFAULT.exec(inner);
    if (parsed === null) {
      problems.push({
        path,
        message: `invalid environment reference ${whole}: use \${env:NAME} or \${env:NAME:-default}`,
      });
      return whole;
    }
    const name = parsed[1] ?? "";
    const fallback = parsed[2];
    const current = Object.hasOwn(env, name) ? env[name] : undefined;
    if (current !== undefined && current !== "") return current;
    if (fallback !== undefined) return fallback;
    if (current === "") return "";
    problems.push({ path, message: `environment variable ${name} is not set` });
    return whole;
  });
}
