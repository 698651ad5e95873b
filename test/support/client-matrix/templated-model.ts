import { access, mkdir, rename } from "node:fs/promises";
import { join } from "node:path";
import { cacheDir } from "../../../src/llama/cache-dir.js";
import { makeTinyModel } from "../../../src/llama/tiny-model.js";
import { findVocab } from "../../../src/llama/vocab.js";

/**
 * ChatML that renders tools, assistant tool calls and tool results, and has NO generation
 * prompt. Why no generation prompt: llama-server (pinned commit) starts every grammar it builds
 * for a chat request (response_format JSON schema, tool calls) with the generation prompt, and
 * with the SPM vocabulary, which has no `<|im_start|>` token, initializing that grammar fails
 * ("Failed to initialize samplers: std::exception", 400). Without a generation prompt the
 * grammar starts at the answer and JSON schemas work. The `<tool_call>` markers make the
 * template render tool calls in the history; the random-weight model never emits one.
 */
export const TOOLS_CHAT_TEMPLATE = [
  "{%- if tools %}<|im_start|>system\n<tools>{% for tool in tools %}{{ tool | tojson }}{% endfor %}</tools>\n",
  'Call a function as <tool_call>{"name": ..., "arguments": ...}</tool_call>.<|im_end|>\n{% endif %}',
  "{%- for message in messages %}",
  '{%- if message.role == "tool" %}<|im_start|>user\n<tool_response>{{ message.content }}</tool_response><|im_end|>\n',
  '{% elif message.role == "assistant" and message.tool_calls %}<|im_start|>assistant\n',
  '{% for tc in message.tool_calls %}<tool_call>{"name": "{{ tc.function.name }}", "arguments": {{ tc.function.arguments | tojson }}}</tool_call>{% endfor %}<|im_end|>\n',
  "{% else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endif %}",
  "{%- endfor %}",
].join("");

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** The tiny model (seed 1) with TOOLS_CHAT_TEMPLATE, written into the tiny-model cache once. */
export async function templatedTinyModel(): Promise<string> {
  const cache = cacheDir();
  // The version in the name changes with the template, so a stale file is never reused.
  const path = join(cache, "tiny-models", "tiny-seed1-tools-v1.gguf");
  if (await exists(path)) return path;
  const vocabPath = await findVocab(cache);
  if (vocabPath === null) throw new Error("no llama.cpp vocabulary file: the setup build did not run");
  await mkdir(join(cache, "tiny-models"), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await makeTinyModel({ vocabPath, outPath: tmp, seed: 1, chatTemplate: TOOLS_CHAT_TEMPLATE });
  await rename(tmp, path);
  return path;
}
