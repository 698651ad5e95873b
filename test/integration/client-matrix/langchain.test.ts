import { describeMatrix } from "../../support/client-matrix/run.js";
import { langchainSuite } from "./langchain.js";

describeMatrix("client matrix: LangChain JS against the gateway and the real llama-server", [langchainSuite]);
