import assert from "node:assert/strict";
import { test } from "node:test";
import { buildLaunch } from "./launch.js";

const base = {
  binary: "/opt/llama-server",
  port: 4321,
  socket: null,
  apiKey: "k3y",
  modelId: "qwen",
  deathSignalWrapper: null,
};

test("model form: loopback, the port, the id as alias, then the user's args; the key is not in argv", () => {
  const launch = buildLaunch({
    ...base,
    launch: { kind: "model", model: "/m/q.gguf", args: ["-c", "4096"] },
  });
  assert.equal(launch.command, "/opt/llama-server");
  assert.deepEqual(launch.args, [
    "-m",
    "/m/q.gguf",
    "--alias",
    "qwen",
    "--host",
    "127.0.0.1",
    "--port",
    "4321",
    "-c",
    "4096",
  ]);
  assert.ok(!launch.args.includes("k3y"));
});

test("model form on a socket: --host is the socket path and there is no --port", () => {
  const launch = buildLaunch({
    ...base,
    port: null,
    socket: "/tmp/llamawrapper-ab12cd/0123456789ab.sock",
    launch: { kind: "model", model: "/m/q.gguf", args: ["-c", "4096"] },
  });
  assert.deepEqual(launch.args, [
    "-m",
    "/m/q.gguf",
    "--alias",
    "qwen",
    "--host",
    "/tmp/llamawrapper-ab12cd/0123456789ab.sock",
    "-c",
    "4096",
  ]);
});

test("cmd form: placeholders substituted in every argument, no shell involved", () => {
  const launch = buildLaunch({
    ...base,
    launch: {
      kind: "cmd",
      cmd: ["docker", "run", "-p", "${PORT}:8080", "--name=${MODEL}", "--api-key", "${API_KEY}", "$(id)"],
    },
  });
  assert.equal(launch.command, "docker");
  assert.deepEqual(launch.args, ["run", "-p", "4321:8080", "--name=qwen", "--api-key", "k3y", "$(id)"]);
});

test("the death-signal wrapper runs the same argv under setpriv --pdeathsig KILL", () => {
  const launch = buildLaunch({
    ...base,
    deathSignalWrapper: "/usr/bin/setpriv",
    launch: { kind: "model", model: "/m.gguf", args: [] },
  });
  assert.equal(launch.command, "/usr/bin/setpriv");
  assert.deepEqual(launch.args.slice(0, 4), ["--pdeathsig", "KILL", "--", "/opt/llama-server"]);
});
