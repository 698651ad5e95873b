import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { emptyFacts, type RequestContext } from "../../src/http/context.js";
import { pathOf, type Step } from "../../src/http/middleware/step.js";
import { noAccess } from "../../src/security/access.js";

/** What a step did to the response: headers set, and the status and body if it answered. */
export interface StepResponse {
  readonly headers: Record<string, string>;
  status: number | null;
  ended: boolean;
}

export interface StepRequest {
  readonly method?: string;
  readonly url?: string;
  readonly headers?: IncomingHttpHeaders;
  readonly remoteAddress?: string;
}

/**
 * A RequestContext over stand-ins for Node's request and response, enough to drive one
 * pipeline step without a socket: the step's decisions (headers, answer, thrown error) are
 * what the tests look at.
 */
export function stepContext(request: StepRequest = {}): { ctx: RequestContext; response: StepResponse } {
  const response: StepResponse = { headers: {}, status: null, ended: false };
  const closeListeners: Array<() => void> = [];
  const res = {
    statusCode: 200,
    setHeader(name: string, value: string | number) {
      response.headers[name.toLowerCase()] = String(value);
      return res;
    },
    writeHead(status: number, headers: Record<string, string> = {}) {
      response.status = status;
      res.statusCode = status;
      for (const [name, value] of Object.entries(headers)) response.headers[name.toLowerCase()] = value;
      return res;
    },
    end() {
      response.ended = true;
      return res;
    },
    once(event: string, listener: () => void) {
      if (event === "close") closeListeners.push(listener);
      return res;
    },
    /** Test hook: the response finished. */
    emitClose() {
      for (const listener of closeListeners.splice(0)) listener();
    },
  };
  const req = {
    method: request.method ?? "GET",
    url: request.url ?? "/v1/models",
    headers: request.headers ?? {},
    socket: { remoteAddress: request.remoteAddress ?? "127.0.0.1" },
  };
  const ctx: RequestContext = {
    req: req as unknown as IncomingMessage,
    res: res as unknown as ServerResponse,
    requestId: "test-request",
    traceparent: null,
    path: pathOf(req.url),
    startedAt: 0,
    signal: new AbortController().signal,
    leftWith: null,
    watchClient: () => {},
    cut: new AbortController().signal,
    facts: emptyFacts(),
    onDone: (listener) => {
      res.once("close", listener);
    },
    clientAddress: request.remoteAddress ?? "127.0.0.1",
    access: noAccess({ requestsPerMinute: null, tokensPerMinute: null, burst: 1 }),
  };
  return { ctx, response };
}

/** Ends a stand-in response made by stepContext (runs its 'close' listeners). */
export function closeResponse(ctx: RequestContext): void {
  (ctx.res as unknown as { emitClose(): void }).emitClose();
}

/** Runs a step; resolves with "answered", "passed", or the code of the GatewayError it threw. */
export async function runStep(step: Step, ctx: RequestContext): Promise<string> {
  try {
    const outcome = await step(ctx);
    return outcome === "answered" ? "answered" : "passed";
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code !== "string") throw error;
    return code;
  }
}
