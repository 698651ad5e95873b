import type { RequestContext } from "../http/context.js";
import { openEventStream } from "../http/send.js";
import type { ModelGroup } from "../scheduler/model-group.js";

const DRAIN_CHECK_MS = 1_000;

/**
 * GET /admin/models/{id}/logs?follow=1: the recent lines, then each new line as it arrives, as
 * server-sent events (`event: line`, data `{"instance","line"}`), until the client leaves.
 * A comment every 15 s keeps proxies with idle timeouts from cutting a quiet model's stream.
 */
export async function followLogs(
  ctx: RequestContext,
  group: ModelGroup,
  count: number,
  isDraining: () => boolean = () => false,
): Promise<void> {
  const { res } = ctx;
  openEventStream(res);
  const send = (instance: string, line: string) =>
    res.write(`event: line\ndata: ${JSON.stringify({ instance, line })}\n\n`);
  for (const backend of group.backends()) for (const line of backend.logs(count)) send(backend.name, line);
  const unsubscribe = group.backends().map((backend) =>
    backend.onEvent((event) => {
      if (event.type !== "output" || !("lines" in event)) return;
      for (const line of event.lines as readonly string[]) send(backend.name, line);
    }),
  );
  const keepAlive = setInterval(() => res.write(": keep-alive\n\n"), 15_000);
  let drainWatch: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) return resolve();
    ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    res.once("close", () => resolve());
    // A following viewer must not hold a shutdown's drain: its stream ends when the drain starts.
    drainWatch = setInterval(() => isDraining() && resolve(), DRAIN_CHECK_MS);
  });
  clearInterval(keepAlive);
  clearInterval(drainWatch);
  for (const stop of unsubscribe) stop();
  res.end();
}
