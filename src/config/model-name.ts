/**
 * Model ids and aliases travel into URLs, log lines, metric labels and file names (slot saves,
 * logs per model), so they are kept to a plain, path-safe alphabet: letters, digits and
 * `. _ : / -`, the characters real model names use ("qwen2.5-7b", "org/model:q4").
 */
export const MODEL_NAME_CHARS = /^[A-Za-z0-9._:/-]+$/;
export const MODEL_NAME_MAX = 128;

/**
 * The same rule as modelNameError as one ECMA-262 pattern, for the JSON Schema editors use.
 * model-name.test.ts checks the two agree.
 */
export const MODEL_NAME_PATTERN = "^(?![./])(?!__proto__$)(?!(?:.*/)?\\.\\.?(?:/|$))[A-Za-z0-9._:/-]{1,128}$";

/** Why `name` is not a valid model id or alias, or null when it is. */
export function modelNameError(name: string): string | null {
  if (name.length === 0) return "must not be empty";
  if (name.length > MODEL_NAME_MAX) return `must be at most ${MODEL_NAME_MAX} characters`;
  if (!MODEL_NAME_CHARS.test(name)) {
    return `"${name}" may only contain letters, digits and . _ : / -`;
  }
  // Ids become keys of plain objects, where "__proto__" would set the prototype instead.
  if (name === "__proto__") return `"${name}" is reserved`;
  if (name.startsWith(".") || name.startsWith("/")) return `"${name}" must not start with "." or "/"`;
  // "." and ".." segments would let a name walk out of a folder it is joined onto.
  if (name.split("/").some((segment) => segment === "." || segment === "..")) {
    return `"${name}" must not contain a "." or ".." path segment`;
  }
  return null;
}
