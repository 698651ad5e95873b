import type { ApiSpec } from "./api-specs.js";

type Body = Record<string, unknown>;

export interface UpstreamBody {
  readonly body: Buffer;
  /** The gateway added include_usage; the client did not ask for the usage chunk. */
  readonly stripUsageChunk: boolean;
}

const INCLUDE_USAGE = Buffer.from('"stream_options":{"include_usage":true},');
const OPEN_BRACE = 0x7b;

/** Whether the client asked for a stream's usage chunk (`stream_options.include_usage`). */
export function clientAsksUsage(body: Body): boolean {
  const options = body.stream_options;
  return typeof options === "object" && options !== null && (options as Body).include_usage === true;
}

/**
 * The body to send to llama-server: the client's bytes unchanged, except that a chat stream
 * whose client did not ask for usage gets `stream_options.include_usage` so the gateway can
 * count its tokens. Without a stream_options key that is a byte insertion after the opening
 * brace (the body is a non-empty object: validation required its input field); only a client
 * that sent its own stream_options costs one re-serialization.
 */
export function upstreamBody(spec: ApiSpec, raw: Buffer, body: Body): UpstreamBody {
  if (!spec.asksStreamUsage || body.stream !== true || clientAsksUsage(body)) {
    return { body: raw, stripUsageChunk: false };
  }
  if (body.stream_options === undefined) {
    const at = raw.indexOf(OPEN_BRACE) + 1;
    return {
      body: Buffer.concat([raw.subarray(0, at), INCLUDE_USAGE, raw.subarray(at)]),
      stripUsageChunk: true,
    };
  }
  const options =
    typeof body.stream_options === "object" && body.stream_options !== null ? body.stream_options : {};
  const changed = { ...body, stream_options: { ...options, include_usage: true } };
  return { body: Buffer.from(JSON.stringify(changed)), stripUsageChunk: true };
}

/**
 * The body for a remote upstream that serves the model under another name: the client's body
 * with `model` replaced (and include_usage when the gateway asked for it), serialized again.
 */
export function remoteBody(upstream: UpstreamBody, body: Body, model: string): Buffer {
  const changed: Body = { ...body, model };
  if (upstream.stripUsageChunk) {
    const options =
      typeof body.stream_options === "object" && body.stream_options !== null ? body.stream_options : {};
    changed.stream_options = { ...options, include_usage: true };
  }
  return Buffer.from(JSON.stringify(changed));
}
