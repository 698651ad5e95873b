import type { ClientSuite } from "../../support/client-matrix/table.js";
import { aiSdkCompatibleSuite, aiSdkOpenaiSuite } from "./ai-sdk.js";
import { anthropic0Suite, anthropic1Suite } from "./anthropic.js";
import { curlSuite } from "./curl.js";
import { langchainSuite } from "./langchain.js";
import { openaiSuite } from "./openai.js";

/** Every client's suite, in the order of CLIENTS (the doc's columns). */
export const ALL_SUITES: readonly ClientSuite[] = [
  openaiSuite,
  aiSdkOpenaiSuite,
  aiSdkCompatibleSuite,
  langchainSuite,
  anthropic1Suite,
  anthropic0Suite,
  curlSuite,
];
