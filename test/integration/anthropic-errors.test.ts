import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Anthropic1 from "@anthropic-ai/sdk";
import Anthropic0 from "anthropic-sdk-0";
import { postJson } from "../fixtures/fake/client.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * The Anthropic routes answer every error in Anthropic's shape, so Anthropic's own SDKs (1.x and
 * the last 0.x) raise their typed errors with `type`, message and `requestID` filled in: refusals
 * before routing (key, rate limit, body limit), the gateway's own 400/404, llama-server's error
 * answers, and an error in a stream that already started.
 */

const KEY = "sk-anthropic-good";
const LIMITED = "sk-anthropic-limited";

/** The two SDK majors, constructed the same way; their error classes are static members. */
const SDKS = [
  { name: "@anthropic-ai/sdk 1.x", Sdk: Anthropic1 },
  { name: "@anthropic-ai/sdk 0.x", Sdk: Anthropic0 },
] as const;

type Sdk = (typeof SDKS)[number]["Sdk"];
/**
 * Both majors' clients, typed as 1.x's: the calls used here have the same signatures in both,
 * but TypeScript cannot call a method of a union of the two overloaded classes.
 */
type Client = Anthropic1;

/** What both SDK majors expose on an APIError. */
interface SdkError {
  readonly status: number | undefined;
  readonly type: string | null;
  readonly requestID: string | null | undefined;
  readonly headers: Headers | undefined;
  readonly error: { type?: string; error?: { type?: string; message?: string }; request_id?: string };
  readonly message: string;
}

function clientOf(Sdk: Sdk, url: string, apiKey: string): Client {
  return new Sdk({ baseURL: url, apiKey, maxRetries: 0 }) as unknown as Client;
}

const messages = [{ role: "user" as const, content: "Hi" }];

/** Awaits `call`, which must fail with an instance of `errorClass`; returns the error. */
async function failure(call: () => Promise<unknown>, errorClass: abstract new (...args: never[]) => unknown) {
  try {
    await call();
  } catch (error) {
    assert.ok(error instanceof errorClass, `expected ${errorClass.name}, got ${String(error)}`);
    return error as unknown as SdkError;
  }
  assert.fail(`expected ${errorClass.name}, but the call succeeded`);
}

/** The error as Anthropic's API would give it: its type in every place the SDK shows one. */
function assertAnthropicError(error: SdkError, status: number, type: string, message: RegExp): void {
  assert.equal(error.status, status);
  assert.equal(error.type, type, "the SDK's error.type");
  assert.equal(error.error.type, "error", "the body is Anthropic's");
  assert.equal(error.error.error?.type, type);
  assert.match(error.error.error?.message ?? "", message);
  assert.match(error.message, message, "the SDK's message carries the API's");
  assert.ok(error.requestID, "requestID comes from the request-id header");
  assert.equal(error.requestID, error.headers?.get("x-request-id"));
  assert.equal(error.error.request_id, error.requestID);
}

describe("Anthropic's SDKs get Anthropic's errors (fake llama-server)", () => {
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway({
      server: { bodyLimit: "4KiB" },
      auth: {
        apiKeys: [KEY, { name: "limited", key: LIMITED, rateLimit: { requestsPerMinute: 1, burst: 1 } }],
      },
      models: {
        m: { cmd: fakeCmd() },
        // llama-server answering its own 400 (as for a request it cannot parse).
        refuses: { cmd: fakeCmd("--fake-status", "400") },
        // Never ready: its load times out after 4.5 s, when a waiting stream has opened (wait
        // notices) and the error must go in-band.
        stalls: { cmd: fakeCmd("--fake-never-ready"), startupTimeout: "4500ms" },
      },
    });
    // Spend the limited key's one request, so each SDK's request below is over its limit.
    const spent = await postJson(gateway.url, "/v1/messages", {}, { headers: { "x-api-key": LIMITED } });
    assert.equal(spent.status, 400);
    await spent.arrayBuffer();
  });

  after(() => stopClean(gateway));

  for (const { name, Sdk } of SDKS) {
    describe(name, () => {
      test("a wrong key is AuthenticationError with authentication_error", async () => {
        const client = clientOf(Sdk, gateway.url, "sk-wrong");
        const error = await failure(
          () => client.messages.create({ model: "m", max_tokens: 4, messages }),
          Sdk.AuthenticationError,
        );
        assertAnthropicError(error, 401, "authentication_error", /Incorrect or missing API key/);
      });

      test("an unknown model is NotFoundError with not_found_error, on count_tokens too", async () => {
        const client = clientOf(Sdk, gateway.url, KEY);
        const error = await failure(
          () => client.messages.create({ model: "nope", max_tokens: 4, messages }),
          Sdk.NotFoundError,
        );
        assertAnthropicError(error, 404, "not_found_error", /nope/);
        const counted = await failure(
          () => client.messages.countTokens({ model: "nope", messages }),
          Sdk.NotFoundError,
        );
        assertAnthropicError(counted, 404, "not_found_error", /nope/);
      });

      test("a request without max_tokens is BadRequestError with invalid_request_error", async () => {
        const client = clientOf(Sdk, gateway.url, KEY);
        const body = { model: "m", messages } as unknown as Parameters<Client["messages"]["create"]>[0];
        const error = await failure(() => client.messages.create(body), Sdk.BadRequestError);
        assertAnthropicError(error, 400, "invalid_request_error", /max_tokens is required/);
        const zero = await failure(
          () => client.messages.create({ model: "m", max_tokens: 0, messages }),
          Sdk.BadRequestError,
        );
        assertAnthropicError(zero, 400, "invalid_request_error", /max_tokens must be an integer/);
      });

      test("over the rate limit is RateLimitError with rate_limit_error, Retry-After kept", async () => {
        const client = clientOf(Sdk, gateway.url, LIMITED);
        const error = await failure(
          () => client.messages.create({ model: "m", max_tokens: 4, messages }),
          Sdk.RateLimitError,
        );
        assertAnthropicError(error, 429, "rate_limit_error", /.+/);
        assert.ok(Number(error.headers?.get("retry-after")) >= 1);
        assert.equal(error.headers?.get("x-ratelimit-remaining"), "0");
      });

      test("a body over the body limit is a 413 with request_too_large", async () => {
        const client = clientOf(Sdk, gateway.url, KEY);
        const big = [{ role: "user" as const, content: "x".repeat(8192) }];
        const error = await failure(
          () => client.messages.create({ model: "m", max_tokens: 4, messages: big }),
          Sdk.APIError,
        );
        assertAnthropicError(error, 413, "request_too_large", /larger than the limit/);
      });

      test("llama-server's own error answer is passed on in Anthropic's shape", async () => {
        const client = clientOf(Sdk, gateway.url, KEY);
        const error = await failure(
          () => client.messages.create({ model: "refuses", max_tokens: 4, messages }),
          Sdk.BadRequestError,
        );
        assertAnthropicError(error, 400, "invalid_request_error", /fake failure/);
      });
    });
  }

  test("a stream that fails after it started ends with Anthropic's event: error, which both SDKs raise", async () => {
    const streamed = async ({ Sdk }: (typeof SDKS)[number]) => {
      const client = clientOf(Sdk, gateway.url, KEY);
      return failure(async () => {
        const stream = await client.messages.create({
          model: "stalls",
          max_tokens: 4,
          messages,
          stream: true,
        });
        for await (const _event of stream) {
          // The wait notices are SSE comments: the SDK yields nothing until the error.
        }
      }, Sdk.APIError);
    };
    // Both at once: they wait for the same load, which fails once.
    const errors = await Promise.all(SDKS.map(streamed));
    for (const error of errors) {
      assert.equal(error.status, undefined, "the 200 was sent: the error came in-band");
      // model_load_timeout: a 503 the client can wait out, Anthropic's overloaded_error.
      assert.equal(error.type, "overloaded_error");
      assert.deepEqual(Object.keys(error.error), ["type", "error"]);
      assert.equal(error.error.error?.type, "overloaded_error");
      assert.match(error.error.error?.message ?? "", /stalls/);
      assert.ok(error.requestID, "the stream's request-id header");
    }
  });

  test("the OpenAI routes keep OpenAI's shape and send no request-id", async () => {
    const res = await postJson(
      gateway.url,
      "/v1/chat/completions",
      { model: "nope", messages },
      { headers: { authorization: `Bearer ${KEY}` } },
    );
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("request-id"), null);
    const body = (await res.json()) as { error: { code: string } };
    assert.equal(body.error.code, "model_not_found");
  });
});

describe("Anthropic's SDKs against the real llama-server", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;

  before(async () => {
    assets = await testAssets();
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      models: { tiny: { model: assets.tinyModel, args: ["-c", "256", "-np", "1"] } },
    });
  });

  after(() => stopClean(gateway));

  for (const { name, Sdk } of SDKS) {
    test(`${name}: a message and a stream, with the request id the SDK reads`, async () => {
      const client = clientOf(Sdk, gateway.url, "unused");
      const message = await client.messages.create({ model: "tiny", max_tokens: 3, messages });
      assert.equal(message.type, "message");
      assert.equal(message.model, "tiny");
      assert.equal(message.usage.output_tokens, 3);
      assert.match(message._request_id ?? "", /^[0-9a-f-]{36}$/);
      const stream = await client.messages.create({ model: "tiny", max_tokens: 3, messages, stream: true });
      const types: string[] = [];
      for await (const event of stream) types.push(event.type);
      assert.equal(types[0], "message_start");
      assert.equal(types.at(-1), "message_stop");
    });

    test(`${name}: llama-server's context-size error is BadRequestError with invalid_request_error`, async () => {
      const client = clientOf(Sdk, gateway.url, "unused");
      const long = [{ role: "user" as const, content: "word ".repeat(600) }];
      const error = await failure(
        () => client.messages.create({ model: "tiny", max_tokens: 1, messages: long }),
        Sdk.BadRequestError,
      );
      assertAnthropicError(error, 400, "invalid_request_error", /context/);
    });
  }
});
