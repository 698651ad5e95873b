import { describeMatrix } from "../../support/client-matrix/run.js";
import { openaiSuite } from "./openai.js";

describeMatrix("client matrix: the openai SDK against the gateway and the real llama-server", [openaiSuite]);
