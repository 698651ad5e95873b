import { describeMatrix } from "../../support/client-matrix/run.js";
import { aiSdkCompatibleSuite, aiSdkOpenaiSuite } from "./ai-sdk.js";

describeMatrix("client matrix: the Vercel AI SDK against the gateway and the real llama-server", [
  aiSdkOpenaiSuite,
  aiSdkCompatibleSuite,
]);
