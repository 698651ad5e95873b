import { getAsset, isSea } from "node:sea";

/**
 * The single executable (`npm run build:single`, docs/single-file.md) has no package folder
 * around it: the files the gateway reads from its package (package.json, the dashboard's page
 * and vendored libraries) are embedded into it as SEA assets by scripts/build-single-file.mjs,
 * under these keys. Outside a single executable nothing here is used.
 */
export const EMBEDDED = {
  /** This package's package.json. */
  packageJson: "package.json",
  /** A JSON array of the dashboard's URL paths; each one is also the key of its file. */
  dashboardFiles: "dashboard-files.json",
} as const;

/** Whether this process is the single executable, where files come from embedded(). */
export function isSingleExecutable(): boolean {
  return isSea();
}

/** An embedded file by its key; throws if the build did not embed it. */
export function embedded(key: string): Buffer {
  return Buffer.from(getAsset(key));
}
