import { readFileSync } from "node:fs";
import type { Locator } from "./source-map.js";

/** The parts of V8's .cpuprofile format we read. */
interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
  readonly positionTicks?: ReadonlyArray<{ line: number; ticks: number }>;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Category = "gateway" | "undici" | "pino" | "node:http/net" | "node other" | "gc" | "native/other";

export interface FrameCost {
  readonly name: string;
  readonly location: string;
  readonly category: Category;
  /** Share of the busy (non-idle) time, 0..1. */
  readonly self: number;
  readonly total: number;
}

export interface ProfileSummary {
  readonly busyMs: number;
  readonly idleShare: number;
  readonly byCategory: Record<Category, number>;
  readonly topSelf: readonly FrameCost[];
  /** Inclusive time of the gateway's own functions (src/): where the request path spends it. */
  readonly gatewayInclusive: readonly FrameCost[];
  /** Hottest lines inside the gateway's own functions (V8's per-line ticks). */
  readonly gatewayLines: ReadonlyArray<{ location: string; share: number }>;
  readonly tree: FlameNode;
}

export interface FlameNode {
  readonly name: string;
  readonly location: string;
  readonly category: Category;
  /** Inclusive busy µs. */
  value: number;
  readonly children: FlameNode[];
}

function categoryOf(frame: CallFrame): Category {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "gc";
  if (url.includes("/node_modules/undici/")) return "undici";
  if (url.includes("/node_modules/pino") || url.includes("/node_modules/sonic-boom/")) return "pino";
  if (/\/(dist\/)?src\/[^/].*\.(js|ts)$/.test(url) && !url.includes("node_modules")) return "gateway";
  if (/^node:(_http|http|net|internal\/(streams|stream_base|http|net))/.test(url)) return "node:http/net";
  if (url.startsWith("node:")) return "node other";
  return "native/other";
}

const IDLE = new Set(["(idle)"]);

/**
 * Reads a V8 CPU profile of the gateway and says where its busy time went: per function (self
 * and inclusive), per category, per hot line of our own code, plus the call tree for a flame
 * graph. "(idle)" is waiting for I/O and is
 * left out of the shares; "(program)" (V8 and libuv outside JS) stays in.
 */
export function analyzeProfile(file: string, locator: Locator, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    // timeDeltas[i] is the time before sample i; attribute it to that sample (V8 DevTools does).
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    if (IDLE.has(byId.get(id)?.callFrame.functionName ?? "")) idleUs += us;
    else busyUs += us;
  }
  const keyOf = (f: CallFrame) => `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`;
  const describe = (f: CallFrame) => ({
    name: f.functionName || "(anonymous)",
    location: locator.locate(f.url, f.lineNumber, f.columnNumber),
    category: categoryOf(f),
  });

  // Self and inclusive per frame; inclusive counts a frame once per stack (recursion-safe).
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const frames = new Map<string, CallFrame>();
  const lineTicks = new Map<string, number>();
  let lineTotal = 0;
  const walk = (id: number, stack: string[]): number => {
    const node = byId.get(id) as ProfileNode;
    const key = keyOf(node.callFrame);
    frames.set(key, node.callFrame);
    const own = IDLE.has(node.callFrame.functionName) ? 0 : (selfUs.get(id) ?? 0);
    self.set(key, (self.get(key) ?? 0) + own);
    if (categoryOf(node.callFrame) === "gateway") {
      for (const tick of node.positionTicks ?? []) {
        const where = locator.locate(node.callFrame.url, tick.line - 1, 0);
        lineTicks.set(where, (lineTicks.get(where) ?? 0) + tick.ticks);
        lineTotal += tick.ticks;
      }
    }
    let inclusive = own;
    const next = [...stack, key];
    for (const child of node.children ?? []) inclusive += walk(child, next);
    if (!stack.includes(key)) total.set(key, (total.get(key) ?? 0) + inclusive);
    return inclusive;
  };
  const root = profile.nodes[0] as ProfileNode;
  walk(root.id, []);

  const cost = (key: string): FrameCost => ({
    ...describe(frames.get(key) as CallFrame),
    self: (self.get(key) ?? 0) / busyUs,
    total: (total.get(key) ?? 0) / busyUs,
  });
  const byCategory = {
    gateway: 0,
    undici: 0,
    pino: 0,
    "node:http/net": 0,
    "node other": 0,
    gc: 0,
    "native/other": 0,
  } as Record<Category, number>;
  for (const [key, us] of self) byCategory[categoryOf(frames.get(key) as CallFrame)] += us / busyUs;

  const keys = [...self.keys()];
  const topSelf = keys
    .filter((k) => (self.get(k) ?? 0) > 0)
    .sort((a, b) => (self.get(b) ?? 0) - (self.get(a) ?? 0))
    .slice(0, top)
    .map(cost);
  const gatewayInclusive = keys
    .filter((k) => categoryOf(frames.get(k) as CallFrame) === "gateway")
    .sort((a, b) => (total.get(b) ?? 0) - (total.get(a) ?? 0))
    .slice(0, top)
    .map(cost);
  const gatewayLines = [...lineTicks]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 10)
    .map(([location, ticks]) => ({ location, share: ticks / Math.max(1, lineTotal) }));

  const flame = (id: number): FlameNode | null => {
    const node = byId.get(id) as ProfileNode;
    if (IDLE.has(node.callFrame.functionName)) return null;
    const children = (node.children ?? []).map(flame).filter((c): c is FlameNode => c !== null);
    const value = (selfUs.get(id) ?? 0) + children.reduce((n, c) => n + c.value, 0);
    return { ...describe(node.callFrame), value, children };
  };
  const tree = flame(root.id) ?? {
    name: "(root)",
    location: "",
    category: "native/other",
    value: 0,
    children: [],
  };
  return {
    busyMs: busyUs / 1000,
    idleShare: idleUs / (idleUs + busyUs),
    byCategory,
    topSelf,
    gatewayInclusive,
    gatewayLines,
    tree,
  };
}
