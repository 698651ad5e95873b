import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { conversationOf, PROMPT_BLOCK_CHARS } from "./conversation-keys.js";

const turn1 = [
  { role: "system", content: "be brief" },
  { role: "user", content: "hello" },
];
const turn2 = [...turn1, { role: "assistant", content: "hi" }, { role: "user", content: "more" }];

describe("conversation keys", () => {
  it("the next turn of a chat carries the whole previous request's key among its own", () => {
    const first = conversationOf({ messages: turn1 });
    const next = conversationOf({ messages: turn2 });
    assert.ok(first !== null && next !== null);
    assert.equal(first.keys.length, 2);
    assert.equal(next.keys.length, 4);
    assert.deepEqual(next.keys.slice(0, 2), first.keys, "one key per message, a running hash");
    assert.equal(new Set(next.keys).size, 4);
    assert.ok(next.promptTokens > first.promptTokens);
  });

  it("what precedes the messages in the prompt (system, instructions, tools) is part of every key", () => {
    const plain = conversationOf({ messages: turn1 });
    for (const extra of [{ tools: [{ type: "function" }] }, { system: "x" }, { instructions: "y" }]) {
      const other = conversationOf({ messages: turn1, ...extra });
      assert.notEqual(other?.keys[0], plain?.keys[0], JSON.stringify(extra));
    }
    // Sampling settings do not change the prompt: same keys.
    assert.deepEqual(conversationOf({ messages: turn1, temperature: 0.7, max_tokens: 9 }), plain);
  });

  it("Responses input items count as messages; a string input or prompt is cut in whole blocks", () => {
    assert.equal(conversationOf({ input: turn1 })?.keys.length, 2);
    const long = "x".repeat(PROMPT_BLOCK_CHARS * 2 + 10);
    const prompt = conversationOf({ prompt: long });
    assert.equal(prompt?.keys.length, 2);
    const longer = conversationOf({ prompt: `${long}${"y".repeat(PROMPT_BLOCK_CHARS)}` });
    assert.deepEqual(longer?.keys.slice(0, 2), prompt?.keys, "the continuation shares the whole blocks");
    assert.equal(conversationOf({ input: long })?.keys.length, 2);
  });

  it("nothing to route by: no messages, a short prompt, a batch of prompts", () => {
    assert.equal(conversationOf({ messages: [] }), null);
    assert.equal(conversationOf({ prompt: "short" }), null);
    assert.equal(conversationOf({ prompt: ["a", "b"] }), null);
    assert.equal(conversationOf({}), null);
  });
});
