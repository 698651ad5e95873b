#!/usr/bin/env node
// Builds the gateway as one file to copy: a Node single executable application (SEA).
//
//   node scripts/build-single-file.mjs [--out DIR] [--strip]      (npm run build:single)
//
// 1. esbuild bundles src/cli/bin.ts and every package it imports into one CommonJS script
//    (a Node 20 SEA runs exactly one CommonJS script and can require only built-in modules);
// 2. `node --experimental-sea-config` turns it into a blob, with the files the gateway reads from
//    its package at run time (package.json, the dashboard and its vendored libraries) as assets;
// 3. postject injects the blob into a copy of this very `node` binary.
// The result, DIR/llamawrapper (default dist/single/llamawrapper), runs on machines of the same
// platform and architecture without Node or node_modules. Linux only: see docs/single-file.md.
// --strip removes the symbol and debug sections from the copy of node first (binutils `strip`):
// about 12 MiB less with a distribution's unstripped node; JavaScript stack traces are the same.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import postject from "postject";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The fuse Node checks to know a blob was injected (the value from the Node docs). */
const SENTINEL_FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

// Must match src/util/single-executable.ts (EMBEDDED) and src/dashboard/assets.ts (ASSET_NAME,
// VENDOR); test/integration/single-file.test.ts checks that the executable serves every file
// loadAssets() serves from the package, byte for byte.
const PACKAGE_JSON_KEY = "package.json";
const DASHBOARD_FILES_KEY = "dashboard-files.json";
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|mjs|js|css|svg|png)$/;
const VENDOR = [
  ["htm-preact.mjs", "htm/preact/standalone"],
  ["uplot.mjs", "uplot/dist/uPlot.esm.js"],
  ["uplot.css", "uplot/dist/uPlot.min.css"],
];

function fail(message) {
  process.stderr.write(`build-single-file: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({ options: { out: { type: "string" }, strip: { type: "boolean" } } });
const outDir = resolve(values.out ?? join(ROOT, "dist", "single"));
const output = join(outDir, "llamawrapper");

if (process.platform !== "linux")
  fail(
    `only Linux is supported (this is ${process.platform}): macOS needs codesign and Windows signtool around the injection, see docs/single-file.md`,
  );
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 12))
  fail(`Node ${process.versions.node} has no SEA assets; use Node 20.12 or later`);

const started = Date.now();
const work = mkdtempSync(join(tmpdir(), "llamawrapper-sea-"));
try {
  // 1. One CommonJS script. import.meta is empty in it: the two places that read it
  //    (src/cli/package-info.ts, src/dashboard/assets.ts) read the embedded assets instead when
  //    running as the single executable, so esbuild's warning about it is expected.
  const bundle = join(work, "llamawrapper.cjs");
  await build({
    entryPoints: [join(ROOT, "src", "cli", "bin.ts")],
    outfile: bundle,
    bundle: true,
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    format: "cjs",
    minify: false,
    legalComments: "eof",
    logLevel: "warning",
    logOverride: { "empty-import-meta": "silent" },
  });
  // The SEA loader compiles the script as a function body, where a `#!` line is a syntax error.
  const script = readFileSync(bundle, "utf8").replace(/^#!.*\n/, "");
  writeFileSync(bundle, script);

  // 2. The files the package reads at run time, as assets.
  const assets = { [PACKAGE_JSON_KEY]: join(ROOT, "package.json") };
  const dashboardPaths = [];
  for (const name of readdirSync(join(ROOT, "dashboard")).sort()) {
    if (!ASSET_NAME.test(name)) continue;
    assets[`/dashboard/${name}`] = join(ROOT, "dashboard", name);
    dashboardPaths.push(`/dashboard/${name}`);
  }
  for (const [name, specifier] of VENDOR) {
    assets[`/dashboard/vendor/${name}`] = fileURLToPath(import.meta.resolve(specifier));
    dashboardPaths.push(`/dashboard/vendor/${name}`);
  }
  const list = join(work, DASHBOARD_FILES_KEY);
  writeFileSync(list, JSON.stringify(dashboardPaths));
  assets[DASHBOARD_FILES_KEY] = list;

  const blob = join(work, "sea-prep.blob");
  const config = join(work, "sea-config.json");
  writeFileSync(
    config,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      // V8's compiled code for the script goes into the blob: a faster start, tied to this
      // exact node binary (which is the one the blob is injected into).
      useCodeCache: true,
      assets,
    }),
  );
  const made = spawnSync(process.execPath, ["--experimental-sea-config", config], { encoding: "utf8" });
  if (made.status !== 0) fail(`node --experimental-sea-config failed:\n${made.stdout}${made.stderr}`);

  // 3. A copy of this node with the blob injected, written aside and renamed into place.
  mkdirSync(outDir, { recursive: true });
  const partial = join(work, "llamawrapper");
  copyFileSync(process.execPath, partial);
  chmodSync(partial, 0o755);
  if (values.strip) {
    const stripped = spawnSync("strip", [partial], { encoding: "utf8" });
    if (stripped.status !== 0)
      fail(`strip failed (Debian package: binutils): ${stripped.error?.message ?? stripped.stderr}`);
  }
  await postject.inject(partial, "NODE_SEA_BLOB", readFileSync(blob), { sentinelFuse: SENTINEL_FUSE });
  // Renamed into place: a running copy of a previous build is never overwritten in place.
  copyFileSync(partial, `${output}.tmp`);
  chmodSync(`${output}.tmp`, 0o755);
  renameSync(`${output}.tmp`, output);

  const mib = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  process.stdout.write(
    `${output}\n` +
      `build-single-file: ${mib(statSync(output).size)} (node ${process.versions.node} ${mib(statSync(process.execPath).size)}, ` +
      `script ${mib(script.length)}, ${Object.keys(assets).length} assets) in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
