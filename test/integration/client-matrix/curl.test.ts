import { test } from "node:test";
import { describeMatrix } from "../../support/client-matrix/run.js";
import { curlSuite, curlVersion } from "./curl.js";

if (curlVersion() === null)
  test("client matrix: curl", { skip: "curl is not installed (not on PATH)" }, () => {});
else describeMatrix("client matrix: curl against the gateway and the real llama-server", [curlSuite]);
