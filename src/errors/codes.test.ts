import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ERROR_CODES, type ErrorCode } from "./codes.js";
import { GatewayError } from "./gateway-error.js";
import { renderError, renderStreamError } from "./render.js";

interface DocRow {
  status: number;
  type: string;
  retryable: boolean;
}

function docRows(): Map<string, DocRow> {
  const text = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const rows = new Map<string, DocRow>();
  for (const line of text.split("\n")) {
    const match = /^\|\s*`([a-z_]+)`\s*\|\s*(\d{3})\s*\|\s*([a-z_]+)\s*\|\s*(retry)?\s*\|/.exec(line);
    if (match)
      rows.set(match[1] as string, {
        status: Number(match[2]),
        type: match[3] as string,
        retryable: !!match[4],
      });
  }
  return rows;
}

test("docs/errors.md lists exactly the codes of the table, with the same status, type and retry", () => {
  const rows = docRows();
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];
  assert.deepEqual([...rows.keys()].sort(), [...codes].sort());
  for (const code of codes) {
    const spec = ERROR_CODES[code];
    assert.deepEqual(
      rows.get(code),
      { status: spec.status, type: spec.type, retryable: spec.retryable },
      code,
    );
  }
});

test("an error renders as OpenAI's body with its status, and Retry-After only when retryable", () => {
  const notFound = renderError(new GatewayError("model_not_found", "no such model", { param: "model" }));
  assert.equal(notFound.status, 404);
  assert.equal(notFound.headers["retry-after"], undefined);
  assert.deepEqual(JSON.parse(notFound.body), {
    error: {
      message: "no such model",
      type: "invalid_request_error",
      param: "model",
      code: "model_not_found",
    },
  });
  const full = renderError(new GatewayError("queue_full", "too many waiting", { retryAfterSeconds: 2.5 }));
  assert.equal(full.status, 503);
  assert.equal(full.headers["retry-after"], "3");
});

test("a stream error is one in-band error event followed by [DONE]", () => {
  const text = renderStreamError(new GatewayError("backend_crashed", "llama-server died"));
  const events = text.split("\n\n").filter((part) => part !== "");
  assert.equal(events.length, 2);
  assert.equal(JSON.parse((events[0] as string).slice("data: ".length)).error.code, "backend_crashed");
  assert.equal(events[1], "data: [DONE]");
});
