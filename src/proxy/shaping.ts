import type { Dialect } from "./usage.js";

/** What the gateway changes in llama-server's answer on its way to the client. */
export interface Shaping {
  /** The model id, for error messages. */
  readonly modelId: string;
  /** The name the client asked for (alias or id), shown as `model` in every answer. */
  readonly modelName: string;
  readonly dialect: Dialect;
  /**
   * The gateway itself set `stream_options.include_usage` to learn the token counts, so the
   * extra usage chunk llama-server then sends is dropped before the client sees it.
   */
  readonly stripUsageChunk: boolean;
  /**
   * The client's request body, when the caller passes it: the Responses API's response object
   * echoes its parameters (instructions, temperature, tools, ...); without it they show the
   * spec's defaults.
   */
  readonly request?: Readonly<Record<string, unknown>> | undefined;
}
