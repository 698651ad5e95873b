import { parseArgs } from "node:util";

export const SCENARIOS = [
  "s1",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "profile",
] as const;
export type ScenarioId = (typeof SCENARIOS)[number];

export interface BenchArgs {
  readonly quick: boolean;
  /** Empty: everything. */
  readonly only: readonly ScenarioId[];
  readonly gateway: string;
  readonly out: string | null;
  /** A results.json to render BENCHMARKS.md and the chart from, without measuring. */
  readonly render: string | null;
  readonly help: boolean;
}

export const USAGE = `npm run bench -- [options]

  --quick             short rounds (about 1.5 minutes); for a smoke run
  --only s1,s3        run some scenarios: ${SCENARIOS.join(" ")}
  --gateway MODE      dist (default: build the working tree, run dist/src/cli/bin.js),
                      head (build the last commit in .bench/), src (tsx), or a path to bin.js
  --no-profile        skip the --cpu-prof run
  --out DIR           where BENCHMARKS.md and results/ go. Default: the repository root and
                      bench/results/ for a full run, .bench/report/ for --quick or --only
  --render FILE       measure nothing: write BENCHMARKS.md (into --out, default the repository
                      root) and the chart (next to FILE) again from a results.json, e.g. after
                      editing bench/report/notes.md
`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      only: { type: "string" },
      gateway: { type: "string", default: "dist" },
      "no-profile": { type: "boolean", default: false },
      out: { type: "string" },
      render: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  let only: ScenarioId[] = [];
  if (values.only !== undefined) {
    only = values.only.split(",").map((s) => s.trim()) as ScenarioId[];
    const bad = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
    if (bad.length > 0) throw new Error(`--only: unknown ${bad.join(", ")} (known: ${SCENARIOS.join(" ")})`);
  }
  if (values["no-profile"]) {
    only = (only.length === 0 ? [...SCENARIOS] : only).filter((s) => s !== "profile");
  }
  return {
    quick: values.quick,
    only,
    gateway: values.gateway,
    out: values.out ?? null,
    render: values.render ?? null,
    help: values.help,
  };
}

export function selected(args: BenchArgs, id: ScenarioId): boolean {
  return args.only.length === 0 || args.only.includes(id);
}
