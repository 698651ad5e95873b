import type { GatewayConfig } from "../config/types.js";

/**
 * Settings the shell fixed when it started (the listening socket, the header size limit the
 * HTTP parser was built with, the log sink): a reload keeps them and says they need a restart.
 */
export function restartOnlyChanges(old: GatewayConfig, next: GatewayConfig): string[] {
  const changes: string[] = [];
  if (old.server.host !== next.server.host) changes.push("server.host");
  if (old.server.port !== next.server.port) changes.push("server.port");
  if (old.server.maxHeaderBytes !== next.server.maxHeaderBytes) changes.push("server.maxHeaderSize");
  if (old.llamaServer.sockets !== next.llamaServer.sockets) changes.push("llamaServer.sockets");
  if (old.logging.file !== next.logging.file) changes.push("logging.file");
  if (old.history.size !== next.history.size) changes.push("history.size");
  if (old.history.file !== next.history.file) changes.push("history.file");
  if (old.history.maxFileBytes !== next.history.maxFileBytes) changes.push("history.maxFileSize");
  for (const key of ["enabled", "dir", "maxBytes", "saveTimeoutMs"] as const)
    if (old.kvCache[key] !== next.kvCache[key])
      changes.push(
        `kvCache.${key === "maxBytes" ? "maxSize" : key === "saveTimeoutMs" ? "saveTimeout" : key}`,
      );
  if (JSON.stringify(old.upstreamHealth) !== JSON.stringify(next.upstreamHealth))
    changes.push("upstreamHealth");
  return changes;
}
