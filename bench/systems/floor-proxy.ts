// The least a Node.js proxy can cost on this path, as a reference system for scenarios 1 and 2:
// node:http server, body read into one Buffer and parsed once (as the gateway does), forwarded
// with undici's dispatch to one upstream, the (non-streamed) answer read whole and written
// with its length, as the gateway writes one. No auth, rate limit,
// access log, request id, validation or model rewriting. What the gateway adds above this is
// its own work; what this adds above nginx is Node's.
//
//   node --import tsx bench/systems/floor-proxy.ts --upstream PORT --key KEY
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { Agent, type Dispatcher } from "undici";

const { values } = parseArgs({
  options: { upstream: { type: "string" }, key: { type: "string", default: "" } },
  strict: true,
});
const origin = `http://127.0.0.1:${values.upstream}`;
const authorization = `Bearer ${values.key}`;
const dispatcher = new Agent({
  connections: null,
  keepAliveTimeout: 30_000,
  headersTimeout: 0,
  bodyTimeout: 0,
});

const server = createServer({ noDelay: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    try {
      JSON.parse(body.toString("utf8"));
    } catch {
      res.writeHead(400).end();
      return;
    }
    let status = 502;
    let type = "application/octet-stream";
    const answer: Buffer[] = [];
    const handler: Dispatcher.DispatchHandler = {
      // Required: undici treats a handler without it as one of the old (onHeaders/onData) kind.
      onRequestStart() {},
      onResponseStart(_c, statusCode, headers) {
        status = statusCode;
        if (typeof headers["content-type"] === "string") type = headers["content-type"];
      },
      onResponseData(_c, chunk) {
        answer.push(chunk);
      },
      onResponseEnd() {
        const whole = answer.length === 1 ? (answer[0] as Buffer) : Buffer.concat(answer);
        res.writeHead(status, { "content-type": type, "content-length": String(whole.length) });
        res.end(whole);
      },
      onResponseError() {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      },
    };
    dispatcher.dispatch(
      {
        origin,
        path: req.url ?? "/",
        method: "POST",
        headers: { authorization, "content-type": "application/json" },
        body,
      },
      handler,
    );
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stderr.write(`floor proxy listening on http://127.0.0.1:${port}\n`);
});
process.on("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  void dispatcher.close().finally(() => process.exit(0));
});
