import { after, before, describe, test } from "node:test";
import { type MatrixContext, type MatrixGateway, startMatrixGateway } from "./context.js";
import { CLIENTS, type ClientId, type ClientSuite, casesOf, type FeatureId } from "./table.js";

/** A case that has not finished by then has hung: a failure, not a wait. */
export const CASE_TIMEOUT_MS = 30_000;

export function clientTitle(client: ClientId): string {
  return CLIENTS.find((c) => c.id === client)?.title ?? client;
}

/**
 * Registers the suites' cases with node:test, one gateway for the whole file (started once in
 * `before`). A case that fails is one failing test; the others still run.
 */
export function describeMatrix(title: string, suites: readonly ClientSuite[]): void {
  describe(title, () => {
    let gateway: MatrixGateway | undefined;
    const ctx = (): MatrixContext => {
      if (gateway === undefined) throw new Error("the matrix gateway did not start");
      return gateway.ctx;
    };
    before(async () => {
      gateway = await startMatrixGateway();
    });
    after(async () => {
      await gateway?.stop();
    });
    for (const suite of suites) {
      for (const c of casesOf(suite)) {
        test(`${clientTitle(c.client)}: ${c.feature}`, { timeout: CASE_TIMEOUT_MS }, () => c.run(ctx()));
      }
    }
  });
}

export interface CaseResult {
  readonly client: ClientId;
  readonly feature: FeatureId;
  readonly ok: boolean;
  /** The failure on one line, for the doc's notes. */
  readonly error?: string;
}

/** An assertion's message on one line: its first lines, without the diff markers' blank lines. */
function summary(message: string): string {
  return message
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("+ actual - expected"))
    .slice(0, 4)
    .join(" ")
    .slice(0, 300);
}

function withTimeout(run: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no result within ${ms} ms`)), ms);
  });
  return Promise.race([run, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every case of the suites against one gateway, one after another, and collects results. */
export async function runMatrix(
  suites: readonly ClientSuite[],
  progress: (result: CaseResult) => void = () => {},
): Promise<CaseResult[]> {
  const gateway = await startMatrixGateway();
  const results: CaseResult[] = [];
  try {
    for (const suite of suites) {
      for (const c of casesOf(suite)) {
        let result: CaseResult;
        try {
          await withTimeout(c.run(gateway.ctx), CASE_TIMEOUT_MS);
          result = { client: c.client, feature: c.feature, ok: true };
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          result = { client: c.client, feature: c.feature, ok: false, error: summary(message) };
        }
        results.push(result);
        progress(result);
      }
    }
  } finally {
    await gateway.stop();
  }
  return results;
}
