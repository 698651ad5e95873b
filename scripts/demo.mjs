#!/usr/bin/env node
// `npm run demo`: builds llama-server if it is missing (once, several minutes), writes two tiny
// models into ./models, then runs the gateway on :8080 with examples/demo.yaml and prints curl
// lines that work against it. Ctrl-C stops the gateway and its llama-server children.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const bin = ["dist/src/cli/bin.js"];
const node = process.execPath;

function step(args) {
  const result = spawnSync(node, [...bin, ...args], { stdio: ["ignore", "ignore", "inherit"] });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

if (!existsSync(bin[0])) {
  console.error("demo: dist/ is missing; run `npm install` (it builds the gateway) first");
  process.exit(1);
}
step(["setup"]);
if (!existsSync("models/tiny-chat.gguf")) step(["make-tiny-model", "models/tiny-chat.gguf", "--seed", "1"]);
if (!existsSync("models/tiny-embed.gguf")) step(["make-tiny-model", "models/tiny-embed.gguf", "--seed", "2"]);

const port = process.env.PORT ?? "8080";
const gateway = spawn(node, [...bin, "--config", "examples/demo.yaml", "--port", port], {
  stdio: ["ignore", "inherit", "pipe"],
});
gateway.stderr.on("data", (chunk) => {
  process.stderr.write(chunk);
  if (String(chunk).includes("listening on")) {
    const url = `http://127.0.0.1:${port}`;
    console.log(`
The gateway is up. Try:

  curl ${url}/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'

  curl -N ${url}/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model":"tiny-chat","stream":true,"messages":[{"role":"user","content":"Hello!"}],"max_tokens":32}'

  curl ${url}/v1/embeddings -H 'Content-Type: application/json' -d '{"model":"tiny-embed","input":"hello"}'

  curl ${url}/v1/models

  curl ${url}/metrics                          # Prometheus, llama.cpp's own series merged in

Open ${url}/dashboard in a browser: models, live requests and charts, logs, a playground.

Ctrl-C stops it (and its llama-server children).`);
  }
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => gateway.kill(signal));
gateway.on("exit", (code) => process.exit(code ?? 0));
