/** Pieces of the Responses API's stream events that the rewriter (responses-stream.ts) fills in. */

type Json = Record<string, unknown>;

export const outputTextPart = () => ({ type: "output_text", text: "", annotations: [], logprobs: [] });
export const reasoningPart = () => ({ type: "reasoning_text", text: "" });
export const str = (value: unknown): string => (typeof value === "string" ? value : "");

export function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  const end = at + prefix.length;
  return end <= buf.length && buf.compare(prefix, 0, prefix.length, at, end) === 0;
}

export function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The item an event names before it was added: what the spec's output_item.added carries. */
export function skeleton(id: string, raw: Json | null, type: string): Json {
  if (type === "function_call") {
    return {
      id,
      type,
      status: "in_progress",
      arguments: "",
      call_id: str(raw?.call_id) || id.replace(/^fc_/, "call_"),
      name: str(raw?.name),
    };
  }
  if (type === "reasoning") {
    return { id, type, status: "in_progress", summary: [], content: [], encrypted_content: "" };
  }
  return { id, type: "message", status: "in_progress", role: "assistant", content: [] };
}
