import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { escapeLabelValue, parseLine } from "./exposition.js";
import { type ScrapeTarget, scrapeLlamaMetrics } from "./llama-scrape.js";

/** A fake llama-server child on a free port; closed (connections too) when the test ends. */
async function child(
  t: test.TestContext,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<number> {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

function exposition(body: string, seen?: string[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    seen?.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(body);
  };
}

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  return port;
}

const target = (model: string, instance: string, port: number, apiKey = "k"): ScrapeTarget => ({
  model,
  instance,
  endpoint: { port, apiKey },
});

const LLAMA = (
  prompt: number,
  busy: number,
) => `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total ${prompt}
# HELP llamacpp:requests_processing Number of requests processing
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing ${busy}
`;

const count = (text: string, line: string): number => text.split("\n").filter((l) => l === line).length;

test("two children with the same families: one HELP and TYPE each, samples labelled by model and instance", async (t) => {
  const seen: string[] = [];
  const a = await child(t, exposition(LLAMA(29, 0), seen));
  const b = await child(t, exposition(LLAMA(7, 1), seen));
  const result = await scrapeLlamaMetrics(
    [target("qwen", "qwen#0", a, "key-a"), target("llama", "llama#1", b, "key-b")],
    { timeoutMs: 2000 },
  );
  assert.deepEqual(result.failed, []);
  assert.deepEqual(seen.sort(), ["GET /metrics Bearer key-a", "GET /metrics Bearer key-b"]);
  assert.equal(
    result.text,
    `# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed
# TYPE llamacpp:prompt_tokens_total counter
llamacpp:prompt_tokens_total{model="qwen",instance="qwen#0"} 29
llamacpp:prompt_tokens_total{model="llama",instance="llama#1"} 7
# HELP llamacpp:requests_processing Number of requests processing
# TYPE llamacpp:requests_processing gauge
llamacpp:requests_processing{model="qwen",instance="qwen#0"} 0
llamacpp:requests_processing{model="llama",instance="llama#1"} 1
`,
  );
});

test("families come out ordered by name, histogram series stay with their family, timestamps kept", async (t) => {
  const a = await child(
    t,
    exposition(`# TYPE zeta gauge
zeta 1 1700000000000
# HELP lat Latency
# TYPE lat histogram
lat_bucket{le="0.1"} 1
lat_bucket{le="+Inf"} 2
lat_sum 0.3
lat_count 2
alpha_untyped{x="y"} NaN
`),
  );
  const b = await child(t, exposition('# TYPE lat histogram\nlat_bucket{le="+Inf"} 5\nlat_count 5\n'));
  const { text, failed } = await scrapeLlamaMetrics([target("m", "m#0", a), target("n", "n#0", b)], {
    timeoutMs: 2000,
  });
  assert.deepEqual(failed, []);
  assert.equal(
    text,
    `alpha_untyped{x="y",model="m",instance="m#0"} NaN
# HELP lat Latency
# TYPE lat histogram
lat_bucket{le="0.1",model="m",instance="m#0"} 1
lat_bucket{le="+Inf",model="m",instance="m#0"} 2
lat_sum{model="m",instance="m#0"} 0.3
lat_count{model="m",instance="m#0"} 2
lat_bucket{le="+Inf",model="n",instance="n#0"} 5
lat_count{model="n",instance="n#0"} 5
# TYPE zeta gauge
zeta{model="m",instance="m#0"} 1 1700000000000
`,
  );
});

test("label values are escaped: backslash, double quote, newline, in model names and in the child's labels", async (t) => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const a = await child(t, exposition('# TYPE x gauge\nx{path="C:\\\\dir\\"q\\"\\nnext"} 1\n'));
  const { text } = await scrapeLlamaMetrics([target('we"ird\\model\nname', "i#0", a)], { timeoutMs: 2000 });
  assert.equal(
    text,
    '# TYPE x gauge\nx{path="C:\\\\dir\\"q\\"\\nnext",model="we\\"ird\\\\model\\nname",instance="i#0"} 1\n',
  );
});

test("a child's own model and instance labels move to exported_model and exported_instance", async (t) => {
  const a = await child(
    t,
    exposition(
      '# TYPE x gauge\nx{model="inner",instance="in",job="j"} 1\nx{model="m2",exported_model="taken"} 2\nx{model=""} 3\n',
    ),
  );
  const { text } = await scrapeLlamaMetrics([target("outer", "o#0", a)], { timeoutMs: 2000 });
  assert.equal(
    text,
    `# TYPE x gauge
x{exported_model="inner",exported_instance="in",job="j",model="outer",instance="o#0"} 1
x{exported_exported_model="m2",exported_model="taken",model="outer",instance="o#0"} 2
x{model="outer",instance="o#0"} 3
`,
  );
});

test("lines that do not parse are dropped, the rest of the child's exposition is kept", async (t) => {
  const a = await child(
    t,
    exposition(
      [
        "# HELP good_total Good one",
        "# TYPE good_total counter",
        "good_total 1",
        "this is not a metric",
        'bad{label="unterminated} 1',
        'bad{label="x"',
        'bad{label="\\q"} 1',
        'bad{a="1",a="2"} 1',
        "bad-name 1",
        "bad 1 2 3",
        "bad one",
        "bad 1 1.5",
        "# TYPE weird notatype",
        "# HELP badhelp bad \\escape",
        "# just a comment",
        "# EOF",
        "",
        "   ",
        'good_total{x="y",} 2\r',
        'good_total { x = "z" } +Inf',
      ].join("\n"),
    ),
  );
  const { text, failed } = await scrapeLlamaMetrics([target("m", "m#0", a)], { timeoutMs: 2000 });
  assert.deepEqual(failed, []);
  assert.equal(
    text,
    `# HELP good_total Good one
# TYPE good_total counter
good_total{model="m",instance="m#0"} 1
good_total{x="y",model="m",instance="m#0"} 2
good_total{x="z",model="m",instance="m#0"} +Inf
`,
  );
  assert.equal(parseLine("# TYPE weird notatype").kind, "invalid");
  assert.equal(parseLine("llamacpp:prompt_tokens_total 29").kind, "sample");
});

test("a child that accepts and never answers fails as timeout, and the call still returns by the deadline", async (t) => {
  const good = await child(t, exposition(LLAMA(1, 0)));
  const silent = await child(t, () => {}); // reads the request, never writes a byte
  const trickle = await child(t, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    const timer = setInterval(() => res.write("# still here\n"), 20);
    res.on("close", () => clearInterval(timer));
  });
  const timeoutMs = 300;
  const started = performance.now();
  const result = await scrapeLlamaMetrics(
    [target("good", "g#0", good), target("silent", "s#0", silent), target("trickle", "t#0", trickle)],
    { timeoutMs },
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed < timeoutMs + 150, `returned after ${elapsed.toFixed(0)} ms, deadline ${timeoutMs} ms`);
  assert.ok(elapsed >= timeoutMs - 20, `returned after ${elapsed.toFixed(0)} ms, before the deadline`);
  assert.deepEqual(result.failed, [
    { model: "silent", instance: "s#0", reason: "timeout" },
    { model: "trickle", instance: "t#0", reason: "timeout" },
  ]);
  assert.match(result.text, /^llamacpp:prompt_tokens_total\{model="good",instance="g#0"\} 1$/m);
});

test("a fetch that ignores its abort signal still cannot hold the call past the deadline", async () => {
  const hang = (() => new Promise<Response>(() => {})) as typeof fetch;
  const started = performance.now();
  const result = await scrapeLlamaMetrics([target("m", "m#0", 1)], { timeoutMs: 100, fetch: hang });
  assert.ok(performance.now() - started < 250);
  assert.deepEqual(result, { text: "", failed: [{ model: "m", instance: "m#0", reason: "timeout" }] });
});

test("a 500 fails as status, a closed port as error, a body over the limit as error; the others still merge", async (t) => {
  const good = await child(t, exposition(LLAMA(3, 0)));
  const broken = await child(t, (_req, res) => {
    res.writeHead(500).end("boom");
  });
  const unauthorized = await child(t, (_req, res) => {
    res.writeHead(401).end('{"error":{"message":"Invalid API Key"}}');
  });
  const huge = await child(t, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(`${"x 1\n".repeat(300)}`);
  });
  const endless = await child(t, (_req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    const write = (): void => {
      while (res.write("y 1\n".repeat(1024)));
    };
    res.on("drain", write);
    write();
  });
  const closed = await closedPort();
  const started = performance.now();
  const result = await scrapeLlamaMetrics(
    [
      target("good", "g#0", good),
      target("broken", "b#0", broken),
      target("unauthorized", "u#0", unauthorized),
      target("gone", "x#0", closed),
      target("huge", "h#0", huge),
      target("endless", "e#0", endless),
    ],
    { timeoutMs: 2000, maxBodyBytes: 1000 },
  );
  assert.ok(performance.now() - started < 1000, "failures are reported as they happen, not at the deadline");
  assert.deepEqual(result.failed, [
    { model: "broken", instance: "b#0", reason: "status" },
    { model: "unauthorized", instance: "u#0", reason: "status" },
    { model: "gone", instance: "x#0", reason: "error" },
    { model: "huge", instance: "h#0", reason: "error" },
    { model: "endless", instance: "e#0", reason: "error" },
  ]);
  assert.equal(count(result.text, "# TYPE llamacpp:prompt_tokens_total counter"), 1);
  assert.match(result.text, /^llamacpp:prompt_tokens_total\{model="good",instance="g#0"\} 3$/m);
});

test("no targets: an empty exposition and nothing failed", async () => {
  assert.deepEqual(await scrapeLlamaMetrics([], { timeoutMs: 100 }), { text: "", failed: [] });
});
