/** Weight of the newest prompt-speed sample in the running estimate. */
const PREFILL_EWMA = 0.3;

/**
 * A model's prompt speed as llama-server reports it (timings.prompt_per_second), as a running
 * estimate: what recomputing a prompt is predicted to cost.
 */
export class PrefillSpeed {
  /** Tokens per ms; null before any sample. */
  #perMs: number | null = null;

  note(tokensPerSecond: number): void {
    if (!(tokensPerSecond > 0)) return;
    const perMs = tokensPerSecond / 1000;
    const previous = this.#perMs;
    this.#perMs = previous === null ? perMs : previous + PREFILL_EWMA * (perMs - previous);
  }

  /** Predicted ms to evaluate `tokens` prompt tokens; null before any sample. */
  msFor(tokens: number): number | null {
    return this.#perMs === null ? null : tokens / this.#perMs;
  }
}
