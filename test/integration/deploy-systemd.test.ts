import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parseCli } from "../../src/cli/args.js";
import { parseConfig } from "../../src/config/load.js";

/**
 * deploy/systemd/llamawrapper.service: `systemd-analyze verify` accepts it without a warning,
 * its hardening scores at most 5.0 in `systemd-analyze security`, and the directives the
 * gateway's shutdown, reload and connection cap rely on are there (docs/deploy.md, "systemd").
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const UNIT_PATH = join(ROOT, "deploy/systemd/llamawrapper.service");
const UNIT = readFileSync(UNIT_PATH, "utf8");
const BINARY = "/usr/local/bin/llamawrapper";
/** After the drain, how long cut requests get to write their error (CUT_GRACE_MS in src/main.ts). */
const CUT_GRACE_MS = 1_000;
/** Every run of systemd-analyze ends by then. */
const ANALYZE_TIMEOUT_MS = 60_000;

function analyzeMissing(): string | false {
  const probe = spawnSync("systemd-analyze", ["--version"], { stdio: "ignore", timeout: ANALYZE_TIMEOUT_MS });
  return probe.error === undefined && probe.status === 0
    ? false
    : "systemd-analyze is not installed (Debian package: systemd)";
}

/** The [Service] section's assignments, in order; a key may repeat (Environment=, DeviceAllow=). */
function serviceDirectives(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1] !== undefined) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf("=");
    if (section === "Service" && eq > 0) out.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return out;
}

const directives = serviceDirectives(UNIT);
function values(key: string): string[] {
  return directives.filter(([k]) => k === key).map(([, v]) => v);
}
function only(key: string): string | undefined {
  const all = values(key);
  assert.ok(all.length <= 1, `${key}= is set ${all.length} times`);
  return all[0];
}

/** A systemd time span as milliseconds: "45s", "1min 30s", "90" (seconds). */
function timeSpanMs(span: string): number {
  const units: Record<string, number> = { ms: 1, s: 1_000, sec: 1_000, m: 60_000, min: 60_000, h: 3_600_000 };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const match = /^(\d+)([a-z]*)$/.exec(part);
    const unit = units[match?.[2] || "s"];
    assert.ok(match?.[1] !== undefined && unit !== undefined, `cannot read time span ${span}`);
    total += Number(match[1]) * unit;
  }
  return total;
}

/** The gateway's defaults for the timeouts a stop goes through (a config with one model). */
function defaultStopBudgetMs(): number {
  const result = parseConfig("models:\n  m:\n    model: /models/m.gguf\n", {
    baseDir: "/etc/llamawrapper",
    env: {},
    source: null,
    checkFiles: false,
  });
  assert.ok(result.ok, "the minimal config is valid");
  const { config } = result;
  const stopTimeoutMs = config.models.m?.stopTimeoutMs ?? 0;
  return config.server.shutdownTimeoutMs + CUT_GRACE_MS + config.kvCache.saveTimeoutMs + stopTimeoutMs;
}

describe("the systemd unit", () => {
  test("starts the gateway with a command line the CLI accepts: serve --config /etc/llamawrapper/config.yaml", () => {
    const execStart = only("ExecStart");
    assert.ok(execStart !== undefined, "ExecStart= is set");
    const [binary, ...args] = execStart.split(/\s+/);
    assert.equal(binary, BINARY);
    const cli = parseCli(args);
    assert.equal(cli.command, "serve");
    assert.equal(cli.config, "/etc/llamawrapper/config.yaml");
    assert.equal(only("Type"), "simple", "the gateway does not send sd_notify READY=1");
  });

  test("stops by SIGTERM to the gateway alone, SIGKILL to what is left, after a budget longer than the drain", () => {
    assert.equal(
      only("KillMode"),
      "mixed",
      "control-group would SIGTERM the llama-server children mid-drain",
    );
    assert.equal(only("KillSignal"), "SIGTERM");
    const timeoutStop = only("TimeoutStopSec");
    assert.ok(timeoutStop !== undefined, "TimeoutStopSec= is set");
    const budget = defaultStopBudgetMs();
    assert.ok(
      timeSpanMs(timeoutStop) > budget,
      `TimeoutStopSec=${timeoutStop} must exceed drain + cut + KV save + child stop (${budget} ms)`,
    );
    assert.equal(only("Restart"), "on-failure");
    assert.ok(only("RestartSec") !== undefined, "RestartSec= is set");
    assert.match(only("ExecReload") ?? "", /^\/bin\/kill -HUP \$MAINPID$/, "systemctl reload sends SIGHUP");
  });

  test("runs as its own user with the cache folder, open-file limit and hardening the gateway needs", () => {
    assert.equal(only("User"), "llamawrapper");
    assert.ok(values("Environment").includes("LLAMAWRAPPER_CACHE=/var/cache/llamawrapper"));
    assert.equal(
      only("CacheDirectory"),
      "llamawrapper",
      "/var/cache/llamawrapper, writable under ProtectSystem",
    );
    assert.equal(only("LimitNOFILE"), "65536", "server.maxConnections is sized from the open-file limit");
    const required: Record<string, string> = {
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      PrivateTmp: "yes",
      ProtectKernelTunables: "yes",
      ProtectKernelModules: "yes",
      ProtectControlGroups: "yes",
      RestrictSUIDSGID: "yes",
      LockPersonality: "yes",
      RestrictNamespaces: "yes",
      SystemCallArchitectures: "native",
      CapabilityBoundingSet: "",
    };
    for (const [key, value] of Object.entries(required)) assert.equal(only(key), value, `${key}=${value}`);
    assert.match(only("ProtectHome") ?? "", /^(yes|read-only|tmpfs)$/);
    // GPUs are device nodes: these would hide or block them (see the unit's comments).
    assert.notEqual(only("PrivateDevices"), "yes");
    assert.equal(
      only("ProtectClock"),
      undefined,
      "ProtectClock implies DeviceAllow=char-rtc: a closed device policy",
    );
    assert.equal(only("PrivateUsers"), undefined, "device groups such as render are not mapped");
    assert.equal(only("MemoryDenyWriteExecute"), undefined, "V8's JIT needs W+X memory");
    assert.notEqual(only("ProcSubset"), "pid", "the gateway reads /proc/sys/kernel/random/boot_id");
  });

  describe("systemd-analyze", { skip: analyzeMissing() }, () => {
    const dir = mkdtempSync(join(tmpdir(), "llamawrapper-systemd-"));
    after(() => rmSync(dir, { recursive: true, force: true }));

    /**
     * The unit as installed, but with ExecStart's binary replaced by a script that exists here:
     * verify refuses a unit whose ExecStart is not executable. Everything else is identical.
     */
    function testableCopy(name: string, text = UNIT): string {
      const stand = join(dir, "llamawrapper");
      writeFileSync(stand, "#!/bin/sh\nexit 0\n");
      chmodSync(stand, 0o755);
      assert.equal(text.split(`ExecStart=${BINARY} `).length, 2, "ExecStart names the binary once");
      const path = join(dir, name);
      writeFileSync(path, text.replace(`ExecStart=${BINARY} `, `ExecStart=${stand} `));
      return path;
    }

    function analyze(...args: string[]) {
      const run = spawnSync("systemd-analyze", args, {
        cwd: dir,
        encoding: "utf8",
        timeout: ANALYZE_TIMEOUT_MS,
        env: { ...process.env, SYSTEMD_LOG_COLOR: "0", SYSTEMD_PAGER: "" },
      });
      assert.equal(run.error, undefined, `systemd-analyze ${args.join(" ")}: ${run.error?.message}`);
      return { code: run.status, output: `${run.stdout}${run.stderr}` };
    }

    /** Output lines about the unit file (verify prints "<path>:<line>: ..." or "<name>: ..."). */
    function linesAbout(output: string, path: string): string[] {
      const name = path.slice(path.lastIndexOf("/") + 1);
      return output.split("\n").filter((line) => line.includes(path) || line.startsWith(`${name}:`));
    }

    test("verify: exit 0 and not one warning about the unit", () => {
      const path = testableCopy("llamawrapper.service");
      const { code, output } = analyze("verify", path);
      assert.equal(code, 0, output);
      assert.deepEqual(linesAbout(output, path), [], output);
    });

    test("verify does read the unit: a misspelt directive in a copy is reported", () => {
      const path = testableCopy("broken.service", UNIT.replace(/^KillMode=mixed$/m, "KillMode=mixd"));
      const { output } = analyze("verify", path);
      assert.match(linesAbout(output, path).join("\n"), /kill mode/i, output);
    });

    test("security: overall exposure at most 5.0 (OK)", (t) => {
      const path = testableCopy("llamawrapper.service");
      const { code, output } = analyze("security", "--offline=true", "--threshold=50", path);
      if (/unrecognized option|unknown option/i.test(output)) {
        t.skip("this systemd-analyze has no --offline (systemd < 250)");
        return;
      }
      assert.equal(code, 0, output);
      assert.match(output, /Overall exposure level for llamawrapper\.service: [0-4]\.\d/, output);
    });
  });
});
