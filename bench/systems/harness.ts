import { mkdirSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import {
  BACKEND_KEY,
  chatBody,
  GATEWAY_KEY,
  keepAliveAgent,
  requestHeaders,
  type Target,
} from "../load/request-shape.js";
import { processTree, rssBytes } from "../procs/proc-stats.js";
import type { ProcessSet, Spawned } from "../procs/process-set.js";
import { waitFor } from "../procs/wait.js";
import {
  BACKENDS,
  type BackendName,
  type FakeBackend,
  fakeAsLlamaServer,
  startFake,
} from "./fake-backend.js";
import { gatewayConfig, type RunningGateway, startGateway } from "./gateway.js";
import type { GatewayCommand } from "./gateway-build.js";
import { type RunningNginx, startNginx } from "./nginx.js";
import { FAKE_SERVER, FLOOR_PROXY, ROOT, TSX_LOADER } from "./paths.js";

/**
 * The fake answers any number of requests at once, like a llama-server started with that many
 * slots (`-np`); the gateway is told so. With its default (4, llama-server's automatic slot
 * count) it would queue everything past 4 in flight, which is right for a real llama-server
 * but would measure the queue here, not the proxy.
 */
export const FAKE_SLOTS = 4096;

export type SystemName = "direct" | "nginx" | "node floor" | "gateway" | "gateway (minimum)";

/**
 * The second gateway: the same build and the same fakes, with what can be switched off off
 * (gateway.ts, variant "minimum"). Next to `gateway` it shows what the features cost; next to
 * `node floor` what the gateway's core path costs on its own.
 */
export const GATEWAY_MINIMUM: SystemName = "gateway (minimum)";

/** One system under test: where it serves each backend, and which processes are "the proxy". */
export interface System {
  readonly name: SystemName;
  target(backend: BackendName): Target;
  /** The proxy's processes (none for direct): their RSS and CPU are what we report. */
  proxyPids(): number[];
  /** The backend process serving `backend` through this system (its CPU shows who saturates). */
  backendPid(backend: BackendName): number | null;
}

export interface Systems {
  readonly list: readonly System[];
  /** The minimal Node proxy (floor-proxy.ts) in front of the fast backend: scenarios 1 and 2 only. */
  readonly floor: System;
  readonly gateway: RunningGateway;
  /** The same gateway with auth, rate limit, access log, cache and history off. */
  readonly gatewayMinimum: RunningGateway;
  readonly nginx: RunningNginx | null;
  readonly fakes: ReadonlyMap<BackendName, FakeBackend>;
  /** Gateway RSS right after it listened, before any request (bytes). */
  readonly gatewayRssAtStart: number;
}

/** The gateway's child for `backend`: the process under it whose argv ends with that backend's switches. */
function childServing(gatewayPid: number, backend: BackendName): number | null {
  // The backend's switches, whole (the gateway adds its own arguments around them).
  const switches = `\0${BACKENDS[backend].join("\0")}\0`;
  for (const pid of processTree(gatewayPid)) {
    if (pid === gatewayPid) continue;
    try {
      const cmdline = `${readFileSync(`/proc/${pid}/cmdline`, "utf8")}\0`;
      if (cmdline.includes(FAKE_SERVER) && cmdline.includes(switches)) return pid;
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** Starts floor-proxy.ts in front of the fast fake. */
async function startFloor(
  set: ProcessSet,
  upstreamPort: number,
  key: string,
): Promise<{ port: number; process: Spawned }> {
  const spawned = set.spawn(
    "floor-proxy",
    process.execPath,
    ["--import", TSX_LOADER, FLOOR_PROXY, "--upstream", String(upstreamPort), "--key", key],
    { cwd: ROOT },
  );
  const port = await waitFor(
    "the floor proxy to listen",
    () => {
      if (spawned.child.exitCode !== null) throw new Error(`floor proxy exited:\n${spawned.output()}`);
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(spawned.output());
      return match ? Number(match[1]) : undefined;
    },
    20_000,
  );
  return { port, process: spawned };
}

/** One request, checked: used to warm up and to make the gateway start its children. */
function post(target: Target, body: Buffer, agent: ReturnType<typeof keepAliveAgent>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: target.port,
        path: "/v1/chat/completions",
        method: "POST",
        agent,
        headers: requestHeaders(target, body),
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.once("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.once("timeout", () => req.destroy(new Error("warm-up request timed out")));
    req.once("error", reject);
    req.end(body);
  });
}

/**
 * Sends `count` requests to every system for `backend` (JIT warm-up, pools filled, children up).
 * The streaming backends get streamed requests, so the SSE relay path is compiled before
 * scenarios 3 and 4 measure it.
 */
export async function warmUp(systems: readonly System[], backend: BackendName, count: number): Promise<void> {
  const body = backend === "fast" ? chatBody(backend, false, 4) : chatBody(backend, true, 16);
  for (const system of systems) {
    const agent = keepAliveAgent(8);
    try {
      for (let i = 0; i < count; i += 8) {
        const statuses = await Promise.all(
          Array.from({ length: Math.min(8, count - i) }, () => post(system.target(backend), body, agent)),
        );
        const bad = statuses.find((s) => s !== 200);
        if (bad !== undefined) throw new Error(`warm-up of ${system.name}/${backend} got HTTP ${bad}`);
      }
    } finally {
      agent.destroy();
    }
  }
}

/**
 * Starts, for the given backends: one direct fake each, nginx in front of those (when nginx is
 * available), and two gateways whose `model:` children are the same fakes (over Unix sockets): one with every default
 * feature on, one with the minimum (gateway.ts, `variant`). Everything is registered
 * in `set`, so the caller's cleanup stops it.
 */
export async function startSystems(
  set: ProcessSet,
  dir: string,
  backends: readonly BackendName[],
  gatewayCommand: GatewayCommand,
  nginxBinary: string | null,
): Promise<Systems> {
  mkdirSync(dir, { recursive: true });
  const fakes = new Map<BackendName, FakeBackend>();
  for (const name of backends) fakes.set(name, await startFake(set, name, BACKEND_KEY));
  const nginx =
    nginxBinary === null
      ? null
      : await startNginx(
          set,
          nginxBinary,
          join(dir, "nginx"),
          backends.map((name) => ({ name, upstreamPort: (fakes.get(name) as FakeBackend).port })),
          BACKEND_KEY,
        );
  const fake = fakeAsLlamaServer(dir);
  const models = backends.map((id) => ({ id, ...fake.entry(id), maxConcurrent: FAKE_SLOTS }));
  const gateway = await startGateway(
    set,
    gatewayCommand,
    dir,
    gatewayConfig({ models, maxLoadedModels: backends.length, llamaServer: fake.binary }),
  );
  const gatewayRssAtStart = rssBytes([gateway.process.pid]);
  // Its own folder: startGateway writes gateway.yaml and gateway.log there (the log stays empty).
  const minimumDir = join(dir, "gateway-minimum");
  mkdirSync(minimumDir, { recursive: true });
  const gatewayMinimum = await startGateway(
    set,
    gatewayCommand,
    minimumDir,
    gatewayConfig({ models, maxLoadedModels: backends.length, llamaServer: fake.binary, variant: "minimum" }),
  );
  const fast = fakes.get("fast") as FakeBackend;
  const floorProcess = await startFloor(set, fast.port, BACKEND_KEY);

  const direct: System = {
    name: "direct",
    target: (b) => ({ port: (fakes.get(b) as FakeBackend).port, key: BACKEND_KEY }),
    proxyPids: () => [],
    backendPid: (b) => fakes.get(b)?.process.pid ?? null,
  };
  const list: System[] = [direct];
  if (nginx !== null) {
    list.push({
      name: "nginx",
      target: (b) => ({ port: nginx.ports.get(b) as number, key: GATEWAY_KEY }),
      proxyPids: () => processTree(nginx.process.pid),
      backendPid: (b) => fakes.get(b)?.process.pid ?? null,
    });
  }
  list.push({
    name: "gateway",
    target: () => ({ port: gateway.port, key: GATEWAY_KEY }),
    proxyPids: () => [gateway.process.pid],
    backendPid: (b) => childServing(gateway.process.pid, b),
  });
  // It needs no key; the client still sends the same Authorization header (ignored by an open
  // gateway, as by nginx), so every proxied system gets the same request bytes.
  list.push({
    name: GATEWAY_MINIMUM,
    target: () => ({ port: gatewayMinimum.port, key: GATEWAY_KEY }),
    proxyPids: () => [gatewayMinimum.process.pid],
    backendPid: (b) => childServing(gatewayMinimum.process.pid, b),
  });
  const floor: System = {
    name: "node floor",
    target: () => ({ port: floorProcess.port, key: GATEWAY_KEY }),
    proxyPids: () => [floorProcess.process.pid],
    backendPid: () => fast.process.pid,
  };
  return { list, floor, gateway, gatewayMinimum, nginx, fakes, gatewayRssAtStart };
}
