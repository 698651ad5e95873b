import { describeMatrix } from "../../support/client-matrix/run.js";
import { anthropic0Suite, anthropic1Suite } from "./anthropic.js";

describeMatrix("client matrix: the Anthropic SDKs against the gateway and the real llama-server", [
  anthropic1Suite,
  anthropic0Suite,
]);
