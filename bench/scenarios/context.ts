import type { System } from "../systems/harness.js";

/** What every scenario gets from the runner. */
export interface ScenarioContext {
  readonly quick: boolean;
  /** Scratch directory of this run. */
  readonly dir: string;
  readonly systems: readonly System[];
  /** Reference systems for the non-streaming scenarios (the minimal Node proxy); may be empty. */
  readonly references: readonly System[];
  readonly wrk: string | null;
  log(line: string): void;
}

/**
 * Runs `fn` for every system (or any named load: scenario 5 rotates its six), `rounds` times,
 * rotating the order each round: a slow drift of the machine (other load, thermal, GC of the
 * client) then spreads over all systems instead of landing on whichever always runs last.
 */
export async function interleave<S extends { readonly name: string }, T>(
  systems: readonly S[],
  rounds: number,
  fn: (system: S, round: number) => Promise<T>,
): Promise<Map<string, T[]>> {
  const out = new Map<string, T[]>(systems.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(i + round) % systems.length] as S;
      (out.get(system.name) as T[]).push(await fn(system, round));
    }
  }
  return out;
}
