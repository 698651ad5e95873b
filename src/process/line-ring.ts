/**
 * The last N lines a child wrote, for error messages (why did the load fail?), the admin API
 * and the dashboard. Chunks arrive split anywhere; a partial line is held until its newline.
 */
export class LineRing {
  readonly #capacity: number;
  readonly #lines: string[] = [];
  #partial = "";

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** Adds a chunk of output; returns the complete lines it finished, so callers can watch for markers. */
  push(chunk: string): string[] {
    const parts = (this.#partial + chunk).split("\n");
    this.#partial = parts.pop() ?? "";
    const complete: string[] = [];
    for (const raw of parts) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") continue;
      complete.push(line);
      this.#lines.push(line);
    }
    if (this.#partial.length > 64 * 1024) {
      // A child that never writes a newline must not grow memory without bound.
      this.#lines.push(this.#partial);
      this.#partial = "";
    }
    const excess = this.#lines.length - this.#capacity;
    if (excess > 0) this.#lines.splice(0, excess);
    return complete;
  }

  /** The newest `count` lines (all kept lines by default), oldest first. */
  tail(count = this.#capacity): string[] {
    return this.#lines.slice(-count);
  }
}
