import type { ConfigProblem } from "./types.js";

/**
 * One line per problem, `path: message`; a problem about the whole file (path "") is just its
 * message. No trailing newline, so callers decide how to end it.
 */
export function formatProblems(problems: readonly ConfigProblem[]): string {
  return problems
    .map((problem) => (problem.path === "" ? problem.message : `${problem.path}: ${problem.message}`))
    .join("\n");
}
