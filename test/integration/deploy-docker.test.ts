// What can be checked of the container packaging without a Docker daemon (none here, and no
// registry to pull images from): the Dockerfile's stages and their wiring, that every file it
// copies is in the build context, compose.yaml's services and the HAProxy config, and that the
// container configs pass the gateway's own validation. Building and running the image is not
// tested here (docs/deploy.md, "Docker").
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { parseCli } from "../../src/cli/args.js";
import type { DiscoveredEntries } from "../../src/config/discovered-entries.js";
import { discoverySettings } from "../../src/config/discovery-settings.js";
import { parseConfig } from "../../src/config/load.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

interface Stage {
  readonly name: string;
  /** The FROM image or earlier stage, with build arguments replaced by their defaults. */
  readonly base: string;
  /** The FROM as written, e.g. `toolchain-${BACKEND}`. */
  readonly rawBase: string;
  readonly instructions: readonly Instruction[];
}

interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults. */
  readonly globalArgs: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
}

/** Joins `\` continuations, drops comments and blank lines; one entry per instruction. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) return;
    if (pending !== "" && line.trimStart().startsWith("#")) return; // comments inside a continuation
    if (pending === "") start = index + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = "";
    const match = /^(\S+)\s*(.*)$/s.exec(whole);
    if (match?.[1] !== undefined)
      out.push({ keyword: match[1].toUpperCase(), args: match[2] ?? "", line: start });
  });
  assert.equal(pending, "", "the Dockerfile ends inside a line continuation");
  return out;
}

function expand(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced?: string, bare?: string) => {
    const value = args.get(braced ?? bare ?? "");
    return value ?? whole;
  });
}

/** `ARG NAME=default` or `ARG NAME` (value "" when absent; quotes dropped). */
function argOf(args: string): [string, string] {
  const [name = "", ...rest] = args.split("=");
  return [
    name.trim(),
    rest
      .join("=")
      .trim()
      .replace(/^"(.*)"$/, "$1"),
  ];
}

function parseDockerfile(text: string, overrides: Readonly<Record<string, string>> = {}): Dockerfile {
  const globalArgs = new Map<string, string>();
  const stages: { name: string; base: string; rawBase: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions(text)) {
    if (instruction.keyword === "FROM") {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      assert.ok(match?.[1], `line ${instruction.line}: cannot read FROM ${instruction.args}`);
      const rawBase = match[1];
      stages.push({
        name: match[2] ?? String(stages.length),
        rawBase,
        base: expand(rawBase, new Map([...globalArgs, ...Object.entries(overrides)])),
        instructions: [],
      });
    } else if (stages.length === 0) {
      assert.equal(instruction.keyword, "ARG", `line ${instruction.line}: only ARG may come before FROM`);
      globalArgs.set(...argOf(instruction.args));
    } else {
      stages[stages.length - 1]?.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function stage(file: Dockerfile, name: string): Stage {
  const found = file.stages.find((s) => s.name === name);
  assert.ok(found, `no stage named ${name} (stages: ${file.stages.map((s) => s.name).join(", ")})`);
  return found;
}

function all(s: Stage, keyword: string): Instruction[] {
  return s.instructions.filter((i) => i.keyword === keyword);
}

function one(s: Stage, keyword: string): string {
  const found = all(s, keyword);
  assert.equal(found.length, 1, `stage ${s.name}: expected one ${keyword}, found ${found.length}`);
  return (found[0] as Instruction).args;
}

interface Copy {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly destination: string;
  readonly line: number;
}

function copies(s: Stage): Copy[] {
  return all(s, "COPY").map((instruction) => {
    const words = instruction.args.split(/\s+/);
    const flags = words.filter((w) => w.startsWith("--"));
    const paths = words.filter((w) => !w.startsWith("--"));
    const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length) ?? null;
    assert.ok(paths.length >= 2, `line ${instruction.line}: COPY needs a source and a destination`);
    return {
      from,
      sources: paths.slice(0, -1),
      destination: paths[paths.length - 1] as string,
      line: instruction.line,
    };
  });
}

/** The exec form `["a", "b"]` of ENTRYPOINT, CMD and HEALTHCHECK CMD. */
function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  assert.ok(Array.isArray(parsed) && parsed.every((x) => typeof x === "string"), `not an exec form: ${args}`);
  return parsed as string[];
}

/** A minimal .dockerignore matcher: `*`, `**`, `!` exceptions, the last matching line wins. */
function dockerIgnored(patterns: readonly string[], path: string): boolean {
  const toRegex = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/\/$/, "")
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((part) => {
          if (part === "**/") return "(?:.*/)?";
          if (part === "**") return ".*";
          if (part === "*") return "[^/]*";
          if (part === "?") return "[^/]";
          return part.replace(/[.+^${}()|[\]\\]/g, "\\$&");
        })
        .join("")}$`,
    );
  // A path is matched by a pattern when it or one of its parent folders is.
  const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const regex = toRegex(negated ? raw.slice(1) : raw);
    if (prefixes.some((prefix) => regex.test(prefix))) ignored = !negated;
  }
  return ignored;
}

const dockerignore = read(".dockerignore")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"));
const dockerfileText = read("Dockerfile");
const dockerfile = parseDockerfile(dockerfileText);
const packageJson = JSON.parse(read("package.json")) as { bin: Record<string, string>; files: string[] };
const runtime = stage(dockerfile, "runtime");

test("the Dockerfile has the build, dependency, llama-server and runtime stages; the runtime is last", () => {
  const names = dockerfile.stages.map((s) => s.name);
  for (const name of ["build", "prod-deps", "toolchain-cpu", "toolchain-cuda", "llama-build", "runtime"]) {
    assert.ok(names.includes(name), `stage ${name} missing: ${names.join(", ")}`);
  }
  assert.equal(new Set(names).size, names.length, "two stages with one name");
  assert.equal(names[names.length - 1], "runtime", "the last stage is the image `docker build` tags");
  assert.equal(dockerfile.globalArgs.get("BACKEND"), "cpu", "CPU by default");
});

test("BACKEND picks existing stages: node images for CPU, nvidia/cuda devel and runtime for CUDA", () => {
  const node = /^node:20(\.\d+){0,2}-bookworm$/;
  assert.match(stage(dockerfile, "build").base, node);
  assert.match(stage(dockerfile, "prod-deps").base, node);
  for (const backend of ["cpu", "cuda"]) {
    const file = parseDockerfile(dockerfileText, { BACKEND: backend });
    const names = file.stages.map((s) => s.name);
    const toolchain = stage(file, "llama-build").base;
    const runtimeBase = stage(file, "runtime").base;
    assert.equal(toolchain, `toolchain-${backend}`);
    assert.equal(runtimeBase, `runtime-${backend}`);
    // A stage-name base must be defined above the stage that uses it.
    for (const [i, s] of file.stages.entries()) {
      if (names.includes(s.base))
        assert.ok(names.indexOf(s.base) < i, `${s.name} uses ${s.base} before it exists`);
    }
  }
  assert.match(stage(dockerfile, "toolchain-cpu").base, node);
  assert.match(stage(dockerfile, "runtime-cpu").base, /^node:20(\.\d+){0,2}-bookworm-slim$/);
  assert.match(stage(dockerfile, "toolchain-cuda").base, /^nvidia\/cuda:[\d.]+-devel-ubuntu[\d.]+$/);
  assert.match(stage(dockerfile, "runtime-cuda").base, /^nvidia\/cuda:[\d.]+-runtime-ubuntu[\d.]+$/);
  // The same CUDA version and distribution for building and running.
  const devel = stage(dockerfile, "toolchain-cuda").base.replace("-devel-", "-");
  assert.equal(stage(dockerfile, "runtime-cuda").base.replace("-runtime-", "-"), devel);
});

test("every COPY --from names an earlier stage, and every local COPY source is in the build context", () => {
  const seen: string[] = [];
  for (const s of dockerfile.stages) {
    for (const copy of copies(s)) {
      if (copy.from !== null) {
        assert.ok(
          seen.includes(copy.from),
          `line ${copy.line}: COPY --from=${copy.from} is not an earlier stage`,
        );
        continue;
      }
      for (const source of copy.sources) {
        assert.ok(
          existsSync(join(ROOT, source)),
          `line ${copy.line}: ${source} does not exist in the repository`,
        );
        assert.ok(
          !dockerIgnored(dockerignore, source),
          `line ${copy.line}: ${source} is excluded by .dockerignore`,
        );
      }
    }
    seen.push(s.name);
  }
});

test(".dockerignore keeps what the build needs and leaves out node_modules, dist, models and tests", () => {
  for (const path of [
    "src/cli/bin.ts",
    "src/main.ts",
    "dashboard/app.mjs",
    "package-lock.json",
    "docs/deploy.md",
  ]) {
    assert.ok(!dockerIgnored(dockerignore, path), `${path} must be in the build context`);
  }
  for (const path of [
    "node_modules/yaml/package.json",
    "dist/src/cli/bin.js",
    "models/tiny-chat.gguf",
    ".git/HEAD",
  ]) {
    assert.ok(dockerIgnored(dockerignore, path), `${path} must stay out of the build context`);
  }
  for (const path of [
    ".bench/x.json",
    "bench/run.ts",
    "test/integration/cli.test.ts",
    "src/cli/args.test.ts",
  ]) {
    assert.ok(dockerIgnored(dockerignore, path), `${path} must stay out of the build context`);
  }
});

test("the build stages run npm ci, the build, and `llamawrapper setup` (with --cuda for CUDA)", () => {
  const build = stage(dockerfile, "build")
    .instructions.map((i) => i.args)
    .join("\n");
  assert.match(build, /npm ci\b/);
  assert.match(build, /npm run build/);
  assert.match(
    stage(dockerfile, "prod-deps")
      .instructions.map((i) => i.args)
      .join("\n"),
    /npm ci --omit=dev/,
  );
  assert.match(
    stage(dockerfile, "toolchain-cpu")
      .instructions.map((i) => i.args)
      .join("\n"),
    /cmake ninja-build g\+\+ git/,
  );
  const llama = all(stage(dockerfile, "llama-build"), "RUN")
    .map((i) => i.args)
    .join("\n");
  assert.match(llama, /dist\/src\/cli\/bin\.js setup \$flag/);
  assert.match(llama, /flag=--cuda/);
  assert.equal(parseCli(["setup", "--cuda"]).cuda, true, "the CLI's flag for a CUDA build");
  assert.equal(parseCli(["setup"]).command, "setup");
});

test("the runtime stage: non-root user, port 8080, /health check, SIGTERM, tini, the gateway's serve", () => {
  const user = one(runtime, "USER").split(":")[0] ?? "";
  assert.ok(user !== "" && user !== "root" && user !== "0", `USER ${user} must not be root`);
  assert.equal(one(runtime, "EXPOSE"), "8080");
  assert.equal(one(runtime, "STOPSIGNAL"), "SIGTERM");
  assert.equal(one(runtime, "VOLUME"), "/models");
  const env = all(runtime, "ENV").map((i) => i.args);
  assert.ok(env.some((line) => /\bLLAMAWRAPPER_CACHE=\/var\/cache\/llamawrapper\b/.test(line)));

  const healthcheck = one(runtime, "HEALTHCHECK");
  const probe = /\bCMD\s+(\[.*\])$/s.exec(healthcheck);
  assert.ok(probe?.[1], `HEALTHCHECK without an exec-form CMD: ${healthcheck}`);
  const probeArgs = execForm(probe[1]);
  assert.equal(probeArgs[0], "node", "no curl in the image: node's fetch is the probe");
  assert.match(probeArgs.join(" "), /http:\/\/127\.0\.0\.1:8080\/health/);
  assert.match(probeArgs.join(" "), /status === 200/, "a 503 while draining is unhealthy");

  const entrypoint = execForm(one(runtime, "ENTRYPOINT"));
  const cmd = execForm(one(runtime, "CMD"));
  assert.deepEqual(entrypoint.slice(0, 2), ["/usr/bin/tini", "--"], "tini is PID 1 and reaps orphans");
  assert.ok(!entrypoint.includes("-g"), "tini must signal only the gateway, not llama-server (the drain)");
  assert.equal(entrypoint[2], "node");
  assert.equal(entrypoint[3], join("/app", packageJson.bin.llamawrapper as string));
  const cli = parseCli(cmd);
  assert.equal(cli.command, "serve");
  assert.equal(cli.config, "/etc/llamawrapper/config.yaml");

  const installed = all(runtime, "RUN")
    .map((i) => i.args)
    .join("\n");
  for (const pkg of ["util-linux", "tini", "libgomp1", "ca-certificates"]) {
    assert.match(installed, new RegExp(`apt-get install[^\\n]*\\b${pkg}\\b`), `${pkg} not installed`);
  }
  const userIndex = runtime.instructions.findIndex((i) => i.keyword === "USER");
  assert.ok(
    runtime.instructions.slice(userIndex).every((i) => i.keyword !== "RUN"),
    "nothing runs as root after USER",
  );
});

test("the runtime image holds what package.json `files` lists, llama-server, and the default config", () => {
  const copied = copies(runtime);
  const destinationOf = (source: string) =>
    copied.find((c) => c.sources.some((s) => s === source || s.endsWith(`/${source}`)));
  for (const entry of packageJson.files) {
    const copy = destinationOf(entry);
    assert.ok(copy, `${entry} (package.json files) is not copied into the runtime image`);
  }
  assert.ok(destinationOf("package.json"), "package.json (the version, --version) is copied");
  assert.ok(
    copied.some((c) => c.from === "prod-deps" && c.sources.includes("/app/node_modules")),
    "production node_modules come from the prod-deps stage",
  );
  const llama = copied.find((c) => c.from === "llama-build");
  assert.equal(
    llama?.destination,
    "/usr/local/bin/llama-server",
    "llama-server on PATH, where the gateway looks",
  );
  const config = copied.find((c) => c.sources.includes("deploy/docker/config.yaml"));
  assert.equal(config?.destination, "/etc/llamawrapper/config.yaml");
});

const testEnv = { LLAMAWRAPPER_API_KEY: "sk-test-api-0001", LLAMAWRAPPER_ADMIN_KEY: "sk-test-admin-0001" };
/** The model files exist only at run time (the models volume): one discovered model stands in. */
const discovered: DiscoveredEntries = {
  model: { entry: { model: "/models/model.gguf", args: ["-c", "4096"] }, from: "/models/model.gguf" },
};

function loadContainerConfig(path: string, env: Readonly<Record<string, string>> = testEnv) {
  const text = read(path);
  const options = { baseDir: "/etc/llamawrapper", env, source: "/etc/llamawrapper/config.yaml" };
  return {
    result: parseConfig(text, { ...options, checkFiles: false, discovered }),
    discovery: discoverySettings(text, env, options.baseDir, null),
  };
}

for (const path of ["deploy/docker/config.yaml", "deploy/docker/config.replicas.yaml"]) {
  test(`${path} passes the gateway's validation: 0.0.0.0:8080, models from /models, keys required`, () => {
    const { result, discovery } = loadContainerConfig(path);
    assert.ok(result.ok, result.ok ? "" : JSON.stringify(result.problems));
    assert.equal(result.config.server.host, "0.0.0.0", "reachable through a published port");
    assert.equal(String(result.config.server.port), one(runtime, "EXPOSE"));
    assert.equal(discovery.dir, "/models", "the models volume");
    assert.ok(result.config.auth.apiKeys.length > 0 && result.config.auth.adminKeys.length > 0);

    const unset = loadContainerConfig(path, {}).result;
    assert.ok(!unset.ok, "without keys in the environment the gateway must not start open");
    assert.deepEqual(
      unset.problems.map((p) => p.path),
      ["auth.apiKeys.0.key", "auth.adminKeys.0.key"],
    );
  });
}

const compose = parseYaml(read("compose.yaml"), { merge: true }) as {
  services: Record<string, Record<string, unknown>>;
};
const gateways = ["gateway-1", "gateway-2"];

function service(name: string): Record<string, unknown> {
  const found = compose.services[name];
  assert.ok(found, `compose.yaml has no service ${name}`);
  return found;
}

function volumes(name: string): { host: string; container: string }[] {
  return ((service(name).volumes ?? []) as string[]).map((spec) => {
    const [host = "", container = ""] = spec.split(":");
    return { host, container };
  });
}

/** Seconds of a compose duration such as `40s` or `1m30s`. */
function seconds(duration: string): number {
  let total = 0;
  for (const [, n, unit] of duration.matchAll(/(\d+)(h|m|s)/g))
    total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h"];
  return total;
}

test("compose.yaml: Redis, two gateway replicas on one image sharing it, and a load balancer", () => {
  assert.deepEqual(Object.keys(compose.services).sort(), ["gateway-1", "gateway-2", "lb", "redis"]);
  assert.match(String(service("redis").image), /^redis:\d/);
  const replicas = loadContainerConfig("deploy/docker/config.replicas.yaml").result;
  assert.ok(replicas.ok);
  const cmdConfig = parseCli(execForm(one(runtime, "CMD"))).config;
  for (const name of gateways) {
    const gateway = service(name);
    assert.equal((gateway.build as { context: string }).context, ".");
    assert.deepEqual(gateway.depends_on, { redis: { condition: "service_healthy" } });
    assert.equal(gateway.ports, undefined, "replicas are reached through the load balancer only");
    const mounts = volumes(name);
    assert.ok(mounts.some((m) => m.container === "/models"));
    const config = mounts.find((m) => m.container === cmdConfig);
    assert.equal(
      config?.host,
      "./deploy/docker/config.replicas.yaml",
      "the replica config at the CMD's path",
    );
    for (const mount of mounts) assert.ok(existsSync(join(ROOT, mount.host)) || mount.host === "./models");
    assert.ok(
      !mounts.some((m) => m.container.startsWith("/var/cache/llamawrapper")),
      "the cache is per replica",
    );
    const grace = seconds(String(gateway.stop_grace_period));
    assert.ok(grace * 1000 > replicas.config.server.shutdownTimeoutMs, "the drain ends before SIGKILL");
  }
  // Both replicas share one Redis for the rate limits and the response cache.
  assert.equal(replicas.config.rateLimit.redis, "redis://redis:6379");
  assert.equal(replicas.config.cache.redis, "redis://redis:6379");
  assert.equal(replicas.config.server.trustProxy, 1, "one proxy hop: HAProxy's X-Forwarded-For");
});

test("the load balancer's config names both replicas, health-checks /health and hashes X-Session-Id", () => {
  const lb = service("lb");
  assert.match(String(lb.image), /^haproxy:\d/);
  assert.deepEqual(lb.ports, ["8080:8080"]);
  const mount = volumes("lb").find((m) => m.container === "/usr/local/etc/haproxy/haproxy.cfg");
  assert.ok(mount, "haproxy.cfg mounted where the official image reads it");
  const host = join(ROOT, mount.host);
  assert.ok(statSync(host).isFile());
  const cfg = readFileSync(host, "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
  for (const name of gateways) {
    assert.ok(cfg.includes(`server ${name} ${name}:8080`), `haproxy.cfg does not name ${name}`);
  }
  assert.ok(cfg.includes("option httpchk"));
  assert.ok(cfg.includes("http-check send meth GET uri /health"));
  assert.ok(cfg.includes("http-check expect status 200"));
  assert.ok(cfg.some((line) => line.startsWith("default-server check ")));
  assert.ok(cfg.includes("balance hdr(X-Session-Id)"));
  assert.ok(cfg.includes("option forwardfor"));
  assert.ok(cfg.includes("bind :8080"));
});
