import { GatewayError } from "../errors/gateway-error.js";
import type { FeedEntry, LiveFeed } from "../history/live-feed.js";
import type { Handler, RequestContext } from "../http/context.js";
import type { Route } from "../http/router.js";
import { openEventStream, sendJson } from "../http/send.js";
import { type Asset, loadAssets } from "./assets.js";
import type { MachineReader } from "./machine.js";

export interface DashboardDeps {
  /** GET /admin/status's body (with the cache and SLA). */
  readonly status: () => Record<string, unknown>;
  readonly feed: LiveFeed;
  readonly machine: MachineReader;
  /** dashboard.public: its data without a key. */
  readonly public: boolean;
  /** Whether any key is configured (else the gateway is open and the page asks for none). */
  readonly authRequired: boolean;
  /** The shutdown drain started: live streams end so they do not hold it up. */
  readonly isDraining: () => boolean;
}

/** How often the live stream sends the status and the machine. */
const TICK_MS = 2_000;
/** Requests the page gets at once (the live stream adds the rest). */
const INITIAL_REQUESTS = 200;

/**
 * The page may run only its own scripts and talk only to this origin: user-supplied text it
 * shows can never become code, and nothing loads from elsewhere (it works offline).
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The embedded dashboard (docs/dashboard.md): its page and libraries from the package itself,
 * and its data API: the config (whether to ask for a key), one state snapshot, and one live SSE
 * stream for the whole page (finished requests as they happen, resumable with Last-Event-ID
 * within the feed's memory; the status and the machine every 2 s).
 */
export function dashboardRoutes(deps: DashboardDeps): Route[] {
  let assets: ReadonlyMap<string, Asset> | null = null;
  const serve =
    (path: string | null): Handler =>
    async (ctx) => {
      assets ??= loadAssets();
      const wanted = path ?? ctx.path;
      const found = assets.get(wanted === "/dashboard/" ? "/dashboard/index.html" : wanted);
      if (found === undefined) throw new GatewayError("not_found", `no dashboard file ${wanted}`);
      sendAsset(ctx, found);
    };
  return [
    { method: "GET", path: "/dashboard", handler: serve("/dashboard/index.html") },
    {
      method: "GET",
      path: "/dashboard/api/config",
      handler: async (ctx: RequestContext) =>
        sendJson(ctx.res, 200, { public: deps.public, authRequired: deps.authRequired }),
    },
    { method: "GET", path: "/dashboard/api/state", handler: stateHandler(deps) },
    { method: "GET", path: "/dashboard/api/events", handler: eventsHandler(deps) },
    {
      method: "GET",
      prefix: "/dashboard/",
      pattern: "/dashboard/{file}",
      handler: (ctx: RequestContext) => serve(null)(ctx),
    },
  ];
}

function sendAsset(ctx: RequestContext, asset: Asset): void {
  const headers: Record<string, string> = {
    "content-type": asset.type,
    etag: asset.etag,
    "cache-control": "no-cache",
    "x-content-type-options": "nosniff",
  };
  if (asset.type.startsWith("text/html")) {
    headers["content-security-policy"] = CSP;
    headers["referrer-policy"] = "no-referrer";
  }
  if (ctx.req.headers["if-none-match"] === asset.etag) {
    ctx.res.writeHead(304, headers);
    ctx.res.end();
    return;
  }
  ctx.res.writeHead(200, { ...headers, "content-length": String(asset.body.length) });
  ctx.res.end(asset.body);
}

function stateHandler(deps: DashboardDeps): Handler {
  return async (ctx) => {
    // The event-loop lag is what a watching live stream has seen (0 when none watches): a
    // monitor started for this one read would have seen nothing yet.
    const machine = await deps.machine.read();
    const requests = deps.feed.latest(INITIAL_REQUESTS).map((entry) => ({ ...entry.record, seq: entry.seq }));
    sendJson(ctx.res, 200, { status: deps.status(), requests, machine });
  };
}

function eventsHandler(deps: DashboardDeps): Handler {
  return async (ctx) => {
    const { res } = ctx;
    openEventStream(res);
    const send = (event: string, data: unknown, id?: number) =>
      res.write(`${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const sendRequest = (entry: FeedEntry) => send("request", { ...entry.record, seq: entry.seq }, entry.seq);
    const resumeFrom = Number(ctx.req.headers["last-event-id"]);
    if (Number.isInteger(resumeFrom) && resumeFrom > 0)
      for (const entry of deps.feed.since(resumeFrom)) sendRequest(entry);
    const unsubscribe = deps.feed.subscribe(sendRequest);
    const stopWatching = deps.machine.watch();
    let ended = false;
    const tick = async () => {
      if (deps.isDraining()) return finish();
      send("status", deps.status());
      const machine = await deps.machine.read();
      if (!ended) send("machine", machine);
    };
    void tick();
    const timer = setInterval(() => void tick(), TICK_MS);
    let finish = () => {};
    await new Promise<void>((resolve) => {
      finish = resolve;
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener("abort", () => resolve(), { once: true });
      res.once("close", () => resolve());
    });
    ended = true;
    clearInterval(timer);
    unsubscribe();
    stopWatching();
    res.end();
  };
}
