import { existsSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { FEATURES } from "../systems/gateway-features.js";
import { num, pct, table } from "./format.js";
import { s11Section } from "./kv-section.js";
import type { BenchResults } from "./results.js";
import {
  idleSection,
  s1Section,
  s2Section,
  s3Section,
  s4Section,
  s5Section,
  s6Section,
  s8Section,
  s9Section,
} from "./sections.js";
import { s10Section } from "./swaps-section.js";
import { evaluateTargets } from "./targets.js";

export interface ReportFiles {
  readonly chart: string;
  readonly results: string;
  readonly notes: string;
  readonly out: string;
}

function machineSection(r: BenchResults): string {
  const m = r.machine;
  return table(
    ["", ""],
    [
      ["date (UTC)", m.date],
      ["CPU", `${m.cpu}, ${m.cores} cores`],
      ["memory", `${m.memoryGiB} GiB`],
      ["kernel", m.kernel],
      ["Node.js", m.node],
      ["nginx", m.nginx ?? "not available"],
      ["load generator", m.wrk ?? "wrk not available: Node closed loop"],
      [
        "gateway measured",
        `${m.gateway}; commit ${m.commit}${m.dirty ? " with uncommitted changes in src/" : ""}`,
      ],
      ["load average (1 min) at start / end", `${num(m.loadAtStart)} / ${num(r.loadAtEnd)}`],
      [
        "run",
        `${r.quick ? "quick (--quick)" : "full"}${r.only.length ? `, only ${r.only.join(",")}` : ""}; ${num(r.seconds, 0)} s`,
      ],
    ],
  );
}

function profileSection(r: BenchResults, outDir: string): string {
  const p = r.profile;
  if (p === null) return "_Not run in this run (`--only` without `profile`, or `--no-profile`)._";
  const s = p.summary;
  const parts: string[] = [];
  parts.push(
    `\`node --cpu-prof\` on a separate gateway under scenario 2's load for ${p.seconds} s (${num(p.requestsPerSecond)} req/s while profiled). ` +
      `The gateway was busy ${pct(1 - s.idleShare)} of the time; shares below are of its busy time. Flame graph: [${relative(outDir, p.flameFile)}](${relative(outDir, p.flameFile)}). ` +
      "The profiler samples the main thread's wall-clock time: a system call such as `writev` (sending to a loopback socket also runs the receiver's TCP processing, and on 2 cores the thread is often descheduled inside it) weighs more here than in CPU time, and the log's writes on libuv's thread pool do not show at all; scenario 2's CPU µs per request is the measure of cost.",
  );
  parts.push(
    table(
      ["where the busy time went", "share"],
      Object.entries(s.byCategory)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, pct(v)]),
    ),
  );
  parts.push("Top functions by self time:");
  parts.push(
    table(
      ["function", "location", "self", "total"],
      s.topSelf.map((f) => [`\`${f.name}\``, `\`${f.location}\``, pct(f.self), pct(f.total)]),
    ),
  );
  parts.push(
    "The gateway's own functions by inclusive time (what each call costs with everything it calls):",
  );
  parts.push(
    table(
      ["function", "location", "total", "self"],
      s.gatewayInclusive.map((f) => [`\`${f.name}\``, `\`${f.location}\``, pct(f.total), pct(f.self)]),
    ),
  );
  if (s.gatewayLines.length > 0) {
    parts.push("Hottest lines in the gateway's own code (V8 line ticks, share of ticks in src/):");
    parts.push(
      table(
        ["line", "share"],
        s.gatewayLines.map((l) => [`\`${l.location}\``, pct(l.share)]),
      ),
    );
  }
  return parts.join("\n\n");
}

function featuresSection(): string {
  return [
    "The gateway runs with its default middleware. What is on, and what to switch on when it lands (`bench/systems/gateway-features.ts`, `bench/systems/gateway.ts`):",
    "",
    ...FEATURES.map(
      (f) =>
        `- [${f.enabled ? "x" : " "}] **${f.name}**: ${f.how}${f.inMinimum ? "" : " _(off in `gateway (minimum)`)_"}`,
    ),
    "",
    "`gateway (minimum)`, measured next to it in scenarios 1–4, is the same build in front of the same fakes with every feature marked off above switched off: no `auth` (the gateway is open and does not look at the key the client still sends), no `rateLimit`, `logging.level: silent` (no access log), `cache.enabled: false`, `history.size: 0`. Metrics and SLA tracking have no switch and stay on in both; the others stay at their defaults. The targets are judged on the full `gateway`; the minimum is for comparison: the gap between the two is what the features cost, the gap to `node floor` what the gateway's core path costs.",
  ].join("\n");
}

/** BENCHMARKS.md: what was measured, against what, on what, and how to run it again. */
export function renderMarkdown(r: BenchResults, files: ReportFiles): string {
  const outDir = files.out;
  const link = (file: string) => relative(outDir, file);
  const notes = existsSync(files.notes) ? readFileSync(files.notes, "utf8").trim() : "";
  const targets = evaluateTargets(r);
  const out: string[] = [];
  out.push("# Benchmarks");
  out.push(
    "How much the gateway adds on the way to llama-server, measured against the backend directly (the physical limit) and nginx as a reverse proxy, " +
      "in the same run, interleaved. **Written by `npm run bench`** (bench/): rerun it to get your machine's numbers; the hand-written findings come from `bench/report/notes.md`.",
  );
  out.push(
    `## Results against the targets\n\n${table(
      ["scenario", "target (2-core machine)", "gateway", "for comparison", ""],
      targets.map((t) => [
        t.scenario,
        t.target,
        t.measured,
        t.context || "–",
        t.verdict === "met" ? "✅ met" : t.verdict === "missed" ? "❌ missed" : t.verdict,
      ]),
    )}`,
  );
  out.push(`![latency percentiles per system](${link(files.chart)})`);
  out.push(`Machine and run:\n\n${machineSection(r)}`);
  if (r.notes.length > 0) out.push(`Notes from this run:\n\n${r.notes.map((n) => `- ${n}`).join("\n")}`);
  if (notes !== "") out.push(notes);
  out.push(`## Scenario 1: fixed rate, non-streaming\n\n${s1Section(r)}`);
  out.push(`## Scenario 2: maximum throughput, non-streaming\n\n${s2Section(r)}`);
  out.push(`## Scenario 3: streaming at a fixed pace\n\n${s3Section(r)}`);
  out.push(`## Scenario 4: 1000 concurrent streams\n\n${s4Section(r)}`);
  out.push(`## Scenario 5: cache hits\n\n${s5Section(r)}`);
  out.push(`## Scenario 6: cold start and swap with the real llama-server\n\n${s6Section(r)}`);
  out.push(`## Scenario 7: gateway memory\n\n${idleSection(r)}`);
  out.push(`## Scenario 8: metrics, SLA tracking and request history per request\n\n${s8Section(r)}`);
  out.push(`## Scenario 9: conversation-affine routing with the real llama-server\n\n${s9Section(r)}`);
  out.push(
    `## Scenario 10: swap order, first come first served against the starvation bound\n\n${s10Section(r)}`,
  );
  out.push(`## Scenario 11: slot KV caches restored after a swap, against recomputing\n\n${s11Section(r)}`);
  out.push(`## Profile\n\n${profileSection(r, outDir)}`);
  out.push(`## Middleware switched on, and what is still to do\n\n${featuresSection()}`);
  out.push(`## How to run\n\n${howToRun(r)}`);
  out.push(`Raw numbers of this run: [${link(files.results)}](${link(files.results)}).`);
  return `${out.join("\n\n")}\n`;
}

function howToRun(r: BenchResults): string {
  return [
    "```sh",
    "npm install                      # once; wrk and nginx come from Debian, installed by the bench when missing (root)",
    "npm run bench                    # everything, about 9 minutes on 2 cores; writes BENCHMARKS.md and bench/results/",
    "npm run bench -- --quick         # smoke run, about 1.5 minutes; writes .bench/report/ unless --out is given",
    "npm run bench -- --only s1,s3    # some scenarios (s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 profile); also writes .bench/report/",
    "npm run bench -- --gateway head  # measure the last commit (git archive + build in .bench/) instead of the working tree",
    "npm run bench -- --gateway src   # src/ through tsx, no build",
    "```",
    "",
    `This run: \`${r.command}\`. Scenarios 6, 9 and 11 need the real llama-server (\`npx llamawrapper setup\`); without it the scenario is skipped with a note.`,
    "",
    "How it measures:",
    "",
    "- **Systems**: `direct` is the fake llama-server (`test/fixtures/fake-llama-server.ts`) on its own port; `nginx` is Debian's nginx with its own config on loopback (1 worker, keep-alive upstream, `proxy_buffering off`, access log on); `gateway` is the real CLI (`dist/src/cli/bin.js` by default, built first) with a config whose `model:` entries run the same fake with the same switches as its llama-server (`llamaServer.binary` is a launcher for the fake; the gateway talks to it as to llama-server, over a Unix socket: the default transport for `model:` children), logging at info to a file, one API key, rate limits checked on every request, and `maxConcurrent: 4096` (the fake has no slot limit; the default of 4 would measure the gateway's queue). `gateway (minimum)` (scenarios 1–4) is a second gateway from the same build in front of the same fakes with auth, rate limit, access log, response cache and request history off (metrics and SLA tracking always on; see the middleware section): for comparison, the targets are judged on `gateway`. `node floor` (scenarios 1 and 2 only) is `bench/systems/floor-proxy.ts`: node:http plus undici in front of the same fake, body parsed once, nothing else, the least any Node proxy pays here. All systems run for the whole scenario; each load runs against each system in turn, the order rotated every round.",
    "- **Load**: scenario 1 is an open-loop client (node:http, keep-alive) sending on a fixed schedule and timing each request with hrtime; scenario 2 is wrk (`-t1`, 32 connections); scenarios 3 and 4 use a purpose-built SSE client that records time to the response headers, to the first content token and the gap before every later token, and checks every stream's content token for token; scenario 5 uses an open-loop client that times each answer to its last byte and then checks its content and its `X-Cache` header. Scenarios 1–4, 6 and the profile send `Cache-Control: no-cache`, so the gateway's response cache never answers their repeated `temperature: 0` request (it still records and stores it: the cost of a miss is in their numbers).",
    "- **Machine noise**: the report gives, per scenario, how many cores other processes used meanwhile (`other load`). The load generator, the proxy and the backend share the same 2 cores, so a CPU-heavy proxy also slows the backend it waits for: scenario 2 also reports CPU µs per request, a measure of the proxy's own cost that does not depend on that sharing.",
  ].join("\n");
}
