// Before the tests: build llama-server once (cached per user and llama.cpp commit; about six
// minutes on 2 cores the first time) and write the tiny models the integration tests serve.
import { testAssets } from "../test/support/assets.js";

const started = Date.now();
const assets = await testAssets((line) => process.stderr.write(`prepare: ${line}\n`));
process.stderr.write(
  `prepare: llama-server ${assets.llamaServer}\nprepare: tiny model ${assets.tinyModel} (${Date.now() - started} ms)\n`,
);
