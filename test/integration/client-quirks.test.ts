import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { postJson } from "../fixtures/fake/client.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { openRaw, responseOn } from "../support/raw-http.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * What real clients do that a gateway must take: base URLs without /v1, trailing slashes,
 * Expect: 100-continue (curl sends it for bodies over 1 KiB), models with maxQueue 0.
 */
const KEY = "quirk-key";
let gateway: RunningGateway;
before(async () => {
  gateway = await startGateway({
    auth: { apiKeys: [KEY] },
    server: { bodyLimit: "1MiB" },
    models: { m: { cmd: fakeCmd("--fake-load-ms", "300"), maxQueue: 0, maxConcurrent: 4 } },
  });
});
after(async () => stopClean(gateway));

const auth = { headers: { authorization: `Bearer ${KEY}` } };
const chatBody = { model: "m", messages: [{ role: "user", content: "hi" }] };

test("a model with maxQueue 0 still loads: the requests its load will serve are not refused", async () => {
  const answers = await Promise.all(
    [1, 2, 3].map(() => postJson(gateway.url, "/v1/chat/completions", chatBody, auth)),
  );
  assert.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200],
  );
  await Promise.all(answers.map((r) => r.arrayBuffer()));
});

test("base URLs without /v1 and trailing slashes reach the same routes", async () => {
  for (const path of ["/chat/completions", "/v1/chat/completions/", "/chat/completions/"]) {
    const res = await postJson(gateway.url, path, chatBody, auth);
    assert.equal(res.status, 200, path);
    assert.equal(((await res.json()) as { object: string }).object, "chat.completion");
  }
  const models = await fetch(`${gateway.url}/models`, auth);
  assert.equal(models.status, 200);
  assert.equal(((await models.json()) as { object: string }).object, "list");
  const unknown = await postJson(gateway.url, "/v2/chat/completions", chatBody, auth);
  assert.equal(unknown.status, 404);
});

/** Sends the head of a POST with Expect: 100-continue and no body yet. */
async function expectContinue(headers: Record<string, string>, length: number) {
  const connection = await openRaw(gateway.url);
  const lines = [
    "POST /v1/chat/completions HTTP/1.1",
    "Host: 127.0.0.1",
    "Content-Type: application/json",
    `Content-Length: ${length}`,
    "Expect: 100-continue",
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  connection.socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  return connection;
}

test("Expect: 100-continue: a wrong key or an oversize body is refused before the client uploads", async () => {
  const wrongKey = await expectContinue({ Authorization: "Bearer nope" }, 500_000);
  const refused = await responseOn(wrongKey, "the 401");
  assert.equal(refused.status, 401, wrongKey.received().slice(0, 200));
  assert.ok(!wrongKey.received().startsWith("HTTP/1.1 100"), "no 100 Continue before the refusal");
  wrongKey.socket.destroy();

  const huge = await expectContinue({ Authorization: `Bearer ${KEY}` }, 11 * 1024 * 1024);
  const tooLarge = await responseOn(huge, "the 413");
  assert.equal(tooLarge.status, 413);
  assert.ok(!huge.received().startsWith("HTTP/1.1 100"));
  huge.socket.destroy();
});

test("Expect: 100-continue: an accepted request gets 100 Continue, then its answer after the body", async () => {
  const body = JSON.stringify(chatBody);
  const connection = await expectContinue({ Authorization: `Bearer ${KEY}` }, Buffer.byteLength(body));
  const { waitFor } = await import("../support/deadline.js");
  await waitFor("100 Continue", () =>
    connection.received().startsWith("HTTP/1.1 100 Continue") ? true : undefined,
  );
  connection.socket.write(body);
  const answer = await waitFor("the answer after the body", () => {
    const text = connection.received();
    const rest = text.slice(text.indexOf("\r\n\r\n") + 4);
    return rest.includes("HTTP/1.1 200") ? rest : undefined;
  });
  assert.match(answer, /chat\.completion/);
  connection.socket.destroy();
});
