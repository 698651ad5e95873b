/**
 * llama-server started with LLAMA_SERVER_ROUTER_PORT set runs as a "router child"
 * (tools/server/server-models.cpp): it prints `cmd_child_to_router:state:{"state":...}` lines on
 * stdout and, once the model is loaded, exits when its stdin reaches EOF. We use the first for
 * push-based readiness and the second so a SIGKILLed gateway leaves no child behind.
 */
const PREFIX = "cmd_child_to_router:state:";

export type RouterChildState = "downloading" | "loading" | "ready" | "sleeping";

export function parseRouterChildLine(line: string): RouterChildState | null {
  const at = line.indexOf(PREFIX);
  if (at === -1) return null;
  try {
    const data = JSON.parse(line.slice(at + PREFIX.length)) as { state?: unknown };
    const state = data.state;
    return state === "downloading" || state === "loading" || state === "ready" || state === "sleeping"
      ? state
      : null;
  } catch {
    return null;
  }
}
