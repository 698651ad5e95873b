import type { GatewayConfig, ModelConfig } from "../config/types.js";

export interface ListedName {
  readonly name: string;
  readonly model: ModelConfig;
  readonly isAlias: boolean;
}

/**
 * Name → model resolution, built once per config: ids and aliases (listed or not) map to their
 * model. Config validation guarantees names are unique, so the map needs no tie-breaking.
 */
export class Catalog {
  readonly #byName = new Map<string, ModelConfig>();
  readonly #listed: ListedName[] = [];
  readonly defaultModel: string | null;

  constructor(config: GatewayConfig) {
    for (const model of Object.values(config.models)) {
      this.#byName.set(model.id, model);
      this.#listed.push({ name: model.id, model, isAlias: false });
      for (const alias of model.aliases) {
        this.#byName.set(alias, model);
        this.#listed.push({ name: alias, model, isAlias: true });
      }
      for (const alias of model.unlistedAliases) this.#byName.set(alias, model);
    }
    this.defaultModel = config.defaultModel;
  }

  resolve(name: string): ModelConfig | undefined {
    return this.#byName.get(name);
  }

  /** Every listed id and alias, in config order, ids before their aliases. */
  listed(): readonly ListedName[] {
    return this.#listed;
  }

  models(): ModelConfig[] {
    return [...new Set(this.#byName.values())];
  }
}
