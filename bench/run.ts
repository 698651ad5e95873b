// npm run bench [-- --quick] [-- --only s1,s3]: the gateway against the backend directly and
// nginx, in one run, interleaved. See BENCHMARKS.md ("How to run") and bench/report/notes.md.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type BenchArgs, parseBenchArgs, selected, USAGE } from "./cli-args.js";
import { rssBytes } from "./procs/proc-stats.js";
import { ProcessSet } from "./procs/process-set.js";
import { type ProfileResult, profileGateway } from "./profile/run-profile.js";
import { chartSvg } from "./report/chart.js";
import { chartPanels } from "./report/chart-panels.js";
import { describeMachine } from "./report/machine.js";
import { renderMarkdown } from "./report/markdown.js";
import type { BenchResults, IdleMemory } from "./report/results.js";
import type { ScenarioContext } from "./scenarios/context.js";
import { runS1, type S1Result } from "./scenarios/s1-fixed-rate.js";
import { runS2, type S2Result } from "./scenarios/s2-throughput.js";
import { runS3, type S3Result } from "./scenarios/s3-streaming.js";
import { runS4, type S4Result } from "./scenarios/s4-many-streams.js";
import { runS5, type S5Result } from "./scenarios/s5-cache.js";
import { runS6, type S6Result } from "./scenarios/s6-cold-start.js";
import { runS8, type S8Result } from "./scenarios/s8-metrics-cost.js";
import { runS9, type S9Result } from "./scenarios/s9-affinity.js";
import { runS10, type S10Result } from "./scenarios/s10-swaps.js";
import { runS11, type S11Result } from "./scenarios/s11-kv-restore.js";
import type { BackendName } from "./systems/fake-backend.js";
import { resolveGateway } from "./systems/gateway-build.js";
import { startSystems, warmUp } from "./systems/harness.js";
import { ROOT, SCRATCH } from "./systems/paths.js";
import { ensureTool } from "./systems/tools.js";

/** The whole run is bounded too: a full run takes about 6 minutes on 2 cores. */
const RUN_DEADLINE_MS = 20 * 60_000;

const startedAt = performance.now();
function log(line: string): void {
  const t = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
  process.stderr.write(`[bench ${t}s] ${line}\n`);
}

/**
 * The RSS of an idle process once it stopped shrinking. V8 keeps what a load grew until a full
 * collection after at least 5 s of low allocation: the gateway runs one 7-10 s after its last
 * request (runtime/idle-reclaim.ts), which shrinks the young generation, and V8's memory reducer
 * follows it 8 s later with a compacting one (without the gateway's, it came after 30-40 s or
 * not at all). So: 25 s idle first, then sampled every 500 ms until two samples 2 s apart differ
 * by less than 1 MiB, or for at most 35 s in all. (Until 2026-12-02 sampling started at once and
 * stopped after about 4 s idle: bench/report/notes.md, "Memory".)
 */
async function settledRss(pid: number): Promise<number> {
  const samples: number[] = [];
  await sleep(25_000);
  const until = performance.now() + 10_000;
  for (;;) {
    samples.push(rssBytes([pid]));
    const last = samples.at(-1) as number;
    const before = samples.at(-5);
    if (before !== undefined && Math.abs(before - last) < 2 ** 20) return last;
    if (performance.now() > until) return last;
    await sleep(500);
  }
}

function outputs(args: BenchArgs): { out: string; results: string } {
  if (args.out !== null) return { out: args.out, results: join(args.out, "results") };
  if (args.quick || args.only.length > 0) {
    const dir = join(SCRATCH, "report");
    return { out: dir, results: join(dir, "results") };
  }
  return { out: ROOT, results: join(ROOT, "bench/results") };
}

async function main(args: BenchArgs, set: ProcessSet): Promise<void> {
  const runDir = join(SCRATCH, `run-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  mkdirSync(runDir, { recursive: true });
  log(`scratch: ${relative(ROOT, runDir)}`);
  const notes: string[] = [];
  const wantsSystems = (["s1", "s2", "s3", "s4", "s5", "s7"] as const).some((id) => selected(args, id));
  const needsNginx = wantsSystems && (["s1", "s2", "s3", "s4"] as const).some((id) => selected(args, id));
  const needsWrk = selected(args, "s2") || selected(args, "profile");

  const nginx = needsNginx ? await ensureTool("nginx", "nginx", log) : null;
  if (nginx && "missing" in nginx) notes.push(`nginx skipped: ${nginx.missing}.`);
  const wrk = needsWrk ? await ensureTool("wrk", "wrk", log) : null;
  if (wrk && "missing" in wrk)
    notes.push(
      `wrk unavailable (${wrk.missing}): scenario 2 used the Node closed-loop client, which takes CPU from the systems under test.`,
    );
  const nginxPath = nginx && "path" in nginx ? nginx.path : null;
  const wrkPath = wrk && "path" in wrk ? wrk.path : null;

  const gatewayCommand = await resolveGateway(args.gateway, log);
  const machine = await describeMachine({ nginx: nginxPath, wrk: wrkPath }, gatewayCommand.label);
  if (machine.loadAtStart > 0.5) {
    notes.push(
      `The machine was not idle when the run started (load average ${machine.loadAtStart.toFixed(2)}): see "other load" per scenario.`,
    );
  }

  /** A scenario that fails is reported as such; the others still run and the report is written. */
  const attempt = async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (error) {
      const message = (error as Error).message.split("\n")[0] ?? String(error);
      log(`${name} failed: ${(error as Error).stack ?? String(error)}`);
      notes.push(`${name} failed in this run: ${message}`);
      return null;
    }
  };

  let idle: IdleMemory | null = null;
  let gatewayStartupMs: number | null = null;
  let s1: S1Result | null = null;
  let s2: S2Result | null = null;
  let s3: S3Result | null = null;
  let s4: S4Result | null = null;
  let s5: S5Result | null = null;
  let s6: S6Result | null = null;
  let s8: S8Result | null = null;
  let s9: S9Result | null = null;
  let s10: S10Result | null = null;
  let s11: S11Result | null = null;
  let profile: ProfileResult | null = null;

  // In process, on the build measured, before anything else runs: the machine is quiet.
  if (selected(args, "s8")) s8 = await attempt("Scenario 8", () => runS8(gatewayCommand, args.quick, log));

  if (wantsSystems) {
    const backends: BackendName[] = ["fast"];
    if (selected(args, "s3")) backends.push("paced");
    if (selected(args, "s4")) backends.push("crowd");
    log(
      `starting direct fakes, ${nginxPath ? "nginx" : "no nginx"} and the gateway, full and minimum (${gatewayCommand.label}), for ${backends.join(", ")}`,
    );
    await attempt("starting the systems", async () => {
      const systems = await startSystems(set, join(runDir, "systems"), backends, gatewayCommand, nginxPath);
      gatewayStartupMs = systems.gateway.startupMs;
      log(`warming up (gateway listening after ${gatewayStartupMs.toFixed(0)} ms)`);
      for (const backend of backends)
        await warmUp(systems.list, backend, { fast: 2000, paced: 64, crowd: 16 }[backend]);
      await warmUp([systems.floor], "fast", 2000);
      const gatewayPid = systems.gateway.process.pid;
      idle = {
        atStart: systems.gatewayRssAtStart,
        afterWarmup: await settledRss(gatewayPid),
        afterS4: null,
      };
      const ctx: ScenarioContext = {
        quick: args.quick,
        dir: runDir,
        systems: systems.list,
        references: [systems.floor],
        wrk: wrkPath,
        log,
      };
      if (selected(args, "s1")) s1 = await attempt("Scenario 1", () => runS1(ctx));
      if (selected(args, "s2")) s2 = await attempt("Scenario 2", () => runS2(ctx));
      if (selected(args, "s3")) s3 = await attempt("Scenario 3", () => runS3(ctx));
      if (selected(args, "s4")) {
        s4 = await attempt("Scenario 4", () => runS4(ctx));
        idle = { ...idle, afterS4: await settledRss(gatewayPid) };
      }
      if (selected(args, "s5")) s5 = await attempt("Scenario 5", () => runS5(ctx));
    });
    log("stopping the systems");
    await set.stopAll();
  }
  if (selected(args, "s6")) {
    s6 = await attempt("Scenario 6", () => runS6(set, join(runDir, "s6"), gatewayCommand, args.quick, log));
    await set.stopAll();
  }
  if (s6 !== null && "skipped" in s6) notes.push(`Scenario 6 skipped: ${s6.skipped}.`);
  if (selected(args, "s9")) {
    s9 = await attempt("Scenario 9", () => runS9(set, join(runDir, "s9"), gatewayCommand, args.quick, log));
    await set.stopAll();
  }
  if (s9 !== null && "skipped" in s9) notes.push(`Scenario 9 skipped: ${s9.skipped}.`);
  if (selected(args, "s10")) {
    s10 = await attempt("Scenario 10", () =>
      runS10(set, join(runDir, "s10"), gatewayCommand, args.quick, log),
    );
    await set.stopAll();
  }
  if (selected(args, "s11")) {
    s11 = await attempt("Scenario 11", () => runS11(set, join(runDir, "s11"), gatewayCommand, log));
    await set.stopAll();
  }
  if (s11 !== null && "skipped" in s11) notes.push(`Scenario 11 skipped: ${s11.skipped}.`);

  const files = outputs(args);
  mkdirSync(files.results, { recursive: true });
  if (selected(args, "profile")) {
    const profDir = join(runDir, "profile");
    mkdirSync(profDir, { recursive: true });
    profile = await attempt("The profile run", () =>
      profileGateway(
        set,
        profDir,
        gatewayCommand,
        wrkPath,
        args.quick,
        join(files.results, "gateway-flame.svg"),
        log,
      ),
    );
    await set.stopAll();
  }

  const results: BenchResults = {
    machine,
    quick: args.quick,
    only: args.only,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`,
    seconds: (performance.now() - startedAt) / 1000,
    loadAtEnd: loadavg()[0] ?? 0,
    notes,
    gatewayStartupMs,
    idle,
    s1,
    s2,
    s3,
    s4,
    s5,
    s6,
    s8,
    s9,
    s10,
    s11,
    profile,
  };
  writeReport(results, files, log);
}

/** results.json, the chart and BENCHMARKS.md, from one run's results. */
function writeReport(
  results: BenchResults,
  files: { out: string; results: string },
  log: (line: string) => void,
): void {
  const { machine } = results;
  mkdirSync(files.results, { recursive: true });
  const resultsFile = join(files.results, "results.json");
  const chartFile = join(files.results, "latency.svg");
  const mdFile = join(files.out, "BENCHMARKS.md");
  writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const subtitle = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}, commit ${machine.commit}${machine.dirty ? "+" : ""}${results.quick ? ", quick run" : ""}`;
  writeFileSync(chartFile, chartSvg(chartPanels(results), subtitle));
  writeFileSync(
    mdFile,
    renderMarkdown(results, {
      chart: chartFile,
      results: resultsFile,
      notes: join(ROOT, "bench/report/notes.md"),
      out: files.out,
    }),
  );
  log(
    `wrote ${relative(ROOT, mdFile) || mdFile}, ${relative(ROOT, chartFile)}, ${relative(ROOT, resultsFile)}`,
  );
}

function start(): void {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (args.render !== null) {
    // After editing bench/report/notes.md or the report code: the same numbers, rendered again.
    const results = JSON.parse(readFileSync(args.render, "utf8")) as BenchResults;
    writeReport(results, { out: args.out ?? ROOT, results: dirname(resolve(args.render)) }, log);
    return;
  }
  const set = new ProcessSet();
  let stopping = false;
  const abort = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log(`${why}: stopping ${set.size} process(es)`);
    void set.stopAll(5_000).finally(() => process.exit(code));
  };
  process.on("SIGINT", () => abort("interrupted", 130));
  process.on("SIGTERM", () => abort("terminated", 143));
  const deadline = setTimeout(
    () => abort(`run took longer than ${RUN_DEADLINE_MS / 60_000} minutes`, 1),
    RUN_DEADLINE_MS,
  );
  main(args, set)
    .catch((error: unknown) => {
      log(`failed: ${(error as Error).stack ?? String(error)}`);
      process.exitCode = 1;
    })
    .finally(async () => {
      clearTimeout(deadline);
      await set.stopAll(5_000);
      log(`done in ${((performance.now() - startedAt) / 1000).toFixed(0)} s`);
    });
}

start();
