import { existsSync, readFileSync } from "node:fs";

/**
 * The gateway's log file as JSON objects, one per line (pino's), typed by the caller as the
 * fields it reads; an absent file is an empty log.
 */
export function readGatewayLog<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as T);
}
