import assert from "node:assert/strict";
import { test } from "node:test";
import type { ErrorCode } from "./codes.js";
import { GatewayError } from "./gateway-error.js";
import { renderError } from "./render.js";

test("x-should-retry says whether a retry can help; Retry-After only where one can", () => {
  const cases: Array<{ code: ErrorCode; shouldRetry?: boolean; retry: string | undefined; after: boolean }> =
    [
      { code: "queue_full", retry: "true", after: true },
      { code: "model_load_failed", retry: "true", after: true },
      { code: "backend_crashed", retry: "true", after: false },
      { code: "not_supported", retry: "false", after: false },
      { code: "internal_error", retry: "false", after: false },
      { code: "backend_response_too_large", retry: "false", after: false },
      { code: "model_busy", retry: "false", after: false },
      { code: "model_not_found", retry: undefined, after: false },
      { code: "invalid_api_key", retry: undefined, after: false },
      // A parked model whose next try is far off: no retry, no Retry-After.
      { code: "model_failed", shouldRetry: false, retry: "false", after: false },
      { code: "model_failed", shouldRetry: true, retry: "true", after: true },
    ];
  for (const c of cases) {
    const error = new GatewayError(c.code, "x", {
      retryAfterSeconds: 30,
      ...(c.shouldRetry === undefined ? {} : { shouldRetry: c.shouldRetry }),
    });
    const { headers } = renderError(error);
    assert.equal(headers["x-should-retry"], c.retry, c.code);
    assert.equal(headers["retry-after"] !== undefined, c.after, `${c.code} Retry-After`);
  }
});
