import type { Json } from "../fixtures/fake/client.js";
import type { RunningGateway } from "./gateway-process.js";

/** Calls an admin route with the admin key; resolves with status and parsed JSON body. */
export async function admin(
  g: RunningGateway,
  method: "GET" | "POST",
  path: string,
  options: { key?: string; body?: unknown } = {},
): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${g.url}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === "" ? {} : (JSON.parse(text) as Json) };
}

/** One model of GET /admin/status. */
export async function modelStatus(g: RunningGateway, id: string, key?: string): Promise<Json> {
  const { body } = await admin(g, "GET", "/admin/status", key === undefined ? {} : { key });
  const model = (body.models as Json[]).find((m) => m.id === id);
  if (model === undefined) throw new Error(`no model ${id} in /admin/status`);
  return model;
}

export async function pidsOf(g: RunningGateway, id: string, key?: string): Promise<number[]> {
  const model = await modelStatus(g, id, key);
  return (model.instances as Json[]).map((i) => i.pid as number);
}
