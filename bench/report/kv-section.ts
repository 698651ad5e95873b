import { S11_RESTORE_TARGET, type S11Run, type S11Turn } from "../scenarios/s11-kv-restore.js";
import { mb, num, table } from "./format.js";
import type { BenchResults } from "./results.js";

const PHASES: Record<S11Turn["phase"], string> = {
  first: "first turn (cold prefill)",
  reference: "next turn, no swap (slot hit)",
  "after-swap": "after a swap, model loaded again",
  "with-load": "after a swap, sent while unloaded (includes the load)",
};

function runNote(run: S11Run): string {
  const saves = run.saves.map(
    (s) => `${s.saved} slots, ${mb(s.bytes)} in ${s.ms} ms${s.timedOut ? " (cut by saveTimeout)" : ""}`,
  );
  return [
    `admin load ${num(run.adminLoadMs, 0)} ms`,
    saves.length === 0 ? "no saves" : `saves: ${saves.join("; ")}`,
    run.warnings.length === 0 ? "" : `gateway warnings: ${run.warnings.join("; ")}`,
    run.error === null ? "" : `failed: ${run.error}`,
  ]
    .filter((part) => part !== "")
    .join("; ");
}

/** Scenario 11: slot KV caches restored after a swap against recomputing them (docs/routing.md). */
export function s11Section(r: BenchResults): string {
  const s = r.s11 ?? null;
  if (s === null) return "_Not run in this run._";
  if ("skipped" in s) return `_Skipped: ${s.skipped}._`;
  const summaryRow = (label: string, x: typeof s.referenceTtftMs) => [
    label,
    num(x.p50, 0),
    num(x.max, 0),
    String(x.n),
  ];
  const turnRows = (["restore", "recompute"] as const).flatMap((name) =>
    s[name].turns.map((t) => [
      name,
      `${t.conversation}${t.turn}`,
      PHASES[t.phase],
      num(t.ttftMs, 0),
      t.promptTokens === null ? "–" : String(t.promptTokens),
      t.cachedTokens === null ? "–" : String(t.cachedTokens),
      t.route ?? "–",
    ]),
  );
  return [
    `Scenario 9's model \`${s.model.name}\` (${(s.model.params / 1e6).toFixed(1)}M parameters, ${mb(s.model.bytes)}) as \`conv\` (llama-server \`${s.llamaArgs.join(" ")}\`, \`maxConcurrent: 2\`) ` +
      `and the tiny test model as \`other\` (\`${s.otherArgs.join(" ")}\`), \`scheduler.maxLoadedModels: 1\`, \`swapDelay: 0\`, response cache off. ` +
      `Conversations open with ${s.firstPromptTokens ?? "about 7.1k"} prompt tokens; a returning turn adds the reply and a short question (about 50 tokens). ` +
      "Two conversations, one per slot: A1 B1, a request to `other` (evicts `conv`, which saves its two slots), `POST /admin/models/conv/load`, A2 B2 (after the swap), A3 B3 (the reference: a next turn on the slot that holds its conversation, no swap), `other` again, A4 sent while `conv` is unloaded (its time includes the load), B4, then A5 B5 (reference again). " +
      "Two fresh gateways run the same turns: `kvCache.enabled: true` (restore) and `false` (recompute). The reference row is the restore run's A3 B3 A5 B5.",
    table(
      ["time to first token (ms)", "p50", "max", "n"],
      [
        summaryRow("reference: next turn, no swap (slot hit)", s.referenceTtftMs),
        summaryRow("after a swap, restored (kvCache on)", s.restoredTtftMs),
        summaryRow("after a swap, recomputed (kvCache off)", s.recomputedTtftMs),
      ],
    ),
    `restored / reference (p50): **${s.restoreOverReference === null ? "–" : `${s.restoreOverReference.toFixed(2)}×`}** (target ≤ ${S11_RESTORE_TARGET}); ` +
      `recomputed / restored: ${s.recomputeOverRestore === null ? "–" : `${s.recomputeOverRestore.toFixed(1)}×`}. ` +
      `Restore chosen only where it wins: **${s.onlyWhereWins === null ? "no turn was restored" : s.onlyWhereWins ? "yes" : "no"}** (every turn routed \`restored\` was faster than the recompute run's same turn). \`queueMs\` is the gateway's time before forwarding (its access log): the restore's read, and the load for a turn sent while unloaded:`,
    table(
      [
        "turn",
        "when",
        "decision",
        "restore run (ms)",
        "its queueMs",
        "recompute run (ms)",
        "prefilled",
        "cached",
        "saved file",
        "wins",
      ],
      s.comparisons.map((c) => [
        c.turn,
        PHASES[c.phase],
        c.reason ?? "–",
        num(c.ttftMs, 0),
        num(c.queueMs, 0),
        num(c.recomputeTtftMs, 0),
        c.prefilled === null ? "–" : String(c.prefilled),
        c.cached === null ? "–" : String(c.cached),
        c.savedBytes === null ? "–" : mb(c.savedBytes),
        c.wins === null ? "–" : c.wins ? "yes" : "no",
      ]),
    ),
    `Saved at the swaps (\`index.json\`): ${s.restore.savedFiles.map((f) => `${f.tokens} tokens, ${mb(f.bytes)}`).join("; ") || "nothing"}. ` +
      `Restore run: ${runNote(s.restore)}. Recompute run: ${runNote(s.recompute)}. ` +
      'Saves are the gateway\'s "saved slot KV caches before the unload" log lines (the two swaps, then the shutdown).',
    "Every turn, with llama-server's own account (`timings` of the stream's last event):",
    table(["run", "turn", "when", "first token (ms)", "prefilled", "cached", "X-Gateway-Route"], turnRows),
  ].join("\n\n");
}
