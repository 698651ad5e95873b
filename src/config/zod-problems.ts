import { z } from "zod";
import { hint } from "./did-you-mean.js";
import type { ConfigProblem } from "./types.js";

/** `["models", "qwen", "args", 0]` → `models.qwen.args.0`; the root is "". */
function dottedPath(path: readonly PropertyKey[]): string {
  return path.map(String).join(".");
}

/**
 * Turns zod's issues into one problem per mistake, each at the dotted path of the key it is
 * about. Unknown keys become one problem each, at their own path, with a "did you mean" hint
 * from the keys the schema knows at that level.
 */
export function problemsFromZod(
  issues: readonly z.core.$ZodIssue[],
  schema: z.core.$ZodType,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        problems.push({ path: dottedPath([...issue.path, key]), message: `unknown key${hint(key, known)}` });
      }
    } else if (issue.code === "invalid_key") {
      // A bad record key (a model id): the useful text is in the key schema's own issues.
      for (const inner of issue.issues) {
        problems.push({ path: dottedPath([...issue.path, ...inner.path]), message: tidy(inner.message) });
      }
    } else {
      problems.push({ path: dottedPath(issue.path), message: tidy(issue.message) });
    }
  }
  return problems;
}

/** zod prefixes type errors with "Invalid input: "; next to a path that is noise. */
function tidy(message: string): string {
  return message.replace(/^Invalid input: /, "");
}

/** The keys an object schema at `path` accepts, found by walking the schema the way zod walked the input. */
function knownKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = unwrap(schema);
  for (const segment of path) {
    if (node instanceof z.core.$ZodObject) node = node._zod.def.shape[String(segment)];
    else if (node instanceof z.core.$ZodRecord) node = node._zod.def.valueType;
    else if (node instanceof z.core.$ZodArray) node = node._zod.def.element;
    else return [];
    if (node === undefined) return [];
    node = unwrap(node);
  }
  return node instanceof z.core.$ZodObject ? Object.keys(node._zod.def.shape) : [];
}

/** Looks through optional/nullable/default/prefault wrappers and a pipe's input side. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let node = schema;
  for (;;) {
    if (
      node instanceof z.core.$ZodOptional ||
      node instanceof z.core.$ZodNullable ||
      node instanceof z.core.$ZodDefault ||
      node instanceof z.core.$ZodPrefault ||
      node instanceof z.core.$ZodReadonly
    ) {
      node = node._zod.def.innerType;
    } else if (node instanceof z.core.$ZodPipe) {
      node = node._zod.def.in;
    } else {
      return node;
    }
  }
}
