import { LineCounter, parseDocument, type YAMLError } from "yaml";
import type { ConfigProblem } from "./types.js";

export interface YamlParseResult {
  readonly value: unknown;
  readonly problems: readonly ConfigProblem[];
}

/**
 * Parses one YAML document into plain data. Syntax errors, duplicate keys, several documents
 * and unknown tags are all problems (path "", with line:col): the yaml package still builds a
 * value after them (the last duplicate wins, an unknown tag is dropped), and a user would
 * debug the wrong value.
 * YAML 1.2 core schema: `yes`/`no` stay strings, which is what a model alias "no" needs.
 */
export function parseYaml(text: string): YamlParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false, lineCounter });
  const problems = [...doc.errors, ...doc.warnings].map((error) => toProblem(error, lineCounter));
  if (problems.length > 0) return { value: undefined, problems };
  let value: unknown;
  try {
    // maxAliasCount bounds "billion laughs" alias expansion; toJS throws past it.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return {
      value: undefined,
      problems: [{ path: "", message: error instanceof Error ? error.message : String(error) }],
    };
  }
  const reserved = protoKeyPaths(value, []).map((path) => ({
    path,
    message: "__proto__ is not allowed as a key",
  }));
  return reserved.length > 0 ? { value: undefined, problems: reserved } : { value, problems };
}

/**
 * Paths of `__proto__` keys anywhere in the tree. zod's records drop such a key without a
 * word and plain objects treat it as the prototype, so a model or variable named that would
 * silently vanish: reject it up front.
 */
function protoKeyPaths(node: unknown, path: readonly string[]): string[] {
  if (node === null || typeof node !== "object") return [];
  const found: string[] = [];
  for (const [key, child] of Object.entries(node)) {
    if (key === "__proto__") found.push([...path, key].join("."));
    found.push(...protoKeyPaths(child, [...path, key]));
  }
  return found;
}

function toProblem(error: YAMLError, lineCounter: LineCounter): ConfigProblem {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  return { path: "", message: `${line}:${col}: ${error.message}` };
}
