import { z } from "zod";
import { configSchema } from "./schema.js";

/**
 * The JSON Schema of the YAML file, for editors (yaml-language-server) and docs. It describes
 * the input side: durations and sizes as string | number, defaults as written in YAML.
 * Draft-07 because it is the draft editors' YAML/JSON plugins support most widely.
 */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema(), { io: "input", target: "draft-07" });
}
