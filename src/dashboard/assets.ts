import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EMBEDDED, embedded, isSingleExecutable } from "../util/single-executable.js";

export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
};

/** Only plain names: no path can be built from a request to reach anything else. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|mjs|js|css|svg|png)$/;

/** The libraries the page imports, from the installed packages (nothing is fetched at run time). */
const VENDOR: ReadonlyArray<readonly [name: string, specifier: string]> = [
  ["htm-preact.mjs", "htm/preact/standalone"],
  ["uplot.mjs", "uplot/dist/uPlot.esm.js"],
  ["uplot.css", "uplot/dist/uPlot.min.css"],
];

/** The package's `dashboard/` folder: two levels up from src/dashboard (three from dist/src/dashboard). */
function dashboardFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ["../..", "../../.."]) {
    const folder = join(here, up, "dashboard");
    try {
      readdirSync(folder);
      return folder;
    } catch {
      // not here: try one level up
    }
  }
  throw new Error(`the dashboard's files are missing (looked for dashboard/ above ${here})`);
}

function asset(name: string, body: Buffer): Asset {
  const extension = name.slice(name.lastIndexOf(".") + 1);
  return {
    body,
    type: TYPES[extension] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
  };
}

/**
 * Every file the dashboard serves, read once into memory (the page and its libraries are a few
 * hundred KB): keys are the URL paths, `/dashboard/app.mjs`, `/dashboard/vendor/uplot.mjs`.
 * Read on the first request for the dashboard, so a gateway nobody looks at holds none of it.
 */
export function loadAssets(): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  if (isSingleExecutable()) {
    // No package folder: the same files, embedded by scripts/build-single-file.mjs.
    const paths = JSON.parse(embedded(EMBEDDED.dashboardFiles).toString("utf8")) as string[];
    for (const path of paths) assets.set(path, asset(path, embedded(path)));
    return assets;
  }
  const folder = dashboardFolder();
  for (const name of readdirSync(folder)) {
    if (ASSET_NAME.test(name))
      assets.set(`/dashboard/${name}`, asset(name, readFileSync(join(folder, name))));
  }
  for (const [name, specifier] of VENDOR) {
    const file = fileURLToPath(import.meta.resolve(specifier));
    assets.set(`/dashboard/vendor/${name}`, asset(name, readFileSync(file)));
  }
  return assets;
}
