import type { ModelConfig } from "../../config/types.js";
import { GatewayError } from "../../errors/gateway-error.js";
import type { Catalog } from "../../scheduler/catalog.js";

/**
 * A model name from a URL path segment. The OpenAI SDKs percent-encode ids, so `org/model`
 * arrives as `org%2Fmodel`.
 */
export function modelNameFromPath(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new GatewayError("invalid_request", "the model in the path is not valid percent-encoding", {
      param: "model",
    });
  }
}

/**
 * The model an id or alias names; 404 model_not_found (the SDKs' NotFoundError) otherwise, or
 * when `visible` says the caller may not see it. Both answers are the same bytes, built from the
 * name asked only: a key scoped to some models cannot tell a model outside its scope from one
 * that does not exist (a 403 would confirm that the name exists and which model it is).
 */
export function knownModel(
  catalog: Catalog,
  name: string,
  visible: (model: ModelConfig) => boolean = () => true,
): ModelConfig {
  const model = catalog.resolve(name);
  if (model === undefined || !visible(model)) {
    throw new GatewayError("model_not_found", `The model '${name}' does not exist`, { param: "model" });
  }
  return model;
}
