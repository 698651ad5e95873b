/** Edit distance (insertions, deletions, substitutions) between two strings. */
export function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The candidate the user most likely meant: case-insensitive edit distance ≤ 2, or the input
 * is a prefix of it ("head" → "headersTimeout"). The distance must also be below the input's
 * length, so a one- or two-letter typo does not "match" every short key. Ties go to the
 * candidate listed first. Returns null when nothing is close.
 */
export function didYouMean(input: string, candidates: readonly string[]): string | null {
  const wanted = input.toLowerCase();
  if (wanted === "") return null;
  let best: string | null = null;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const lower = candidate.toLowerCase();
    const distance = levenshtein(wanted, lower);
    const close = distance <= 2 && distance < wanted.length;
    // A prefix match ranks after any close typo: "port" typed as "por" is both.
    const score = close ? distance : lower.startsWith(wanted) ? 3 : Number.POSITIVE_INFINITY;
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}

/** ` (did you mean "port"?)`, or "" when there is no suggestion: ready to append to a message. */
export function hint(input: string, candidates: readonly string[]): string {
  const suggestion = didYouMean(input, candidates);
  return suggestion === null ? "" : ` (did you mean "${suggestion}"?)`;
}
