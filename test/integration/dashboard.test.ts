import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { modelStatus } from "../support/admin-client.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { browserSkipReason, launchBrowser, type PageWatch, watchPage } from "../support/browser.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

const USER = "sk-user-dashboard-1";
const ADMIN = "sk-admin-dashboard-1";
const A = "tiny-a";
const B = "tiny-b";
const XSS = "<img src=x onerror=alert(1)>";
const SCREENSHOT = new URL("../../docs/dashboard.png", import.meta.url).pathname;
/** Every Playwright wait names its own deadline; most UI changes come within a status tick (2 s). */
const UI_MS = 15_000;

const byTestId = (page: Page, id: string): Locator => page.locator(`[data-testid="${id}"]`);
const modelRow = (page: Page, id: string, state?: string): Locator =>
  page.locator(`[data-testid="model-row-${id}"]${state === undefined ? "" : `[data-state="${state}"]`}`);
const requestRow = (page: Page, requestId: string): Locator =>
  page.locator(`[data-testid="request-row"][data-request-id="${requestId}"]`);

/**
 * The embedded dashboard (src/dashboard, dashboard/*.mjs) in a real headless Chromium, against
 * gateways on the real llama-server and the tiny model: one with auth (an admin key and a user
 * key) and two model ids on the same gguf, and one with `dashboard.public`. Requests are sent
 * from the test with fetch, as any client would; the page must show them without a reload.
 * The tests run in order on one page, each building on the last (model states, rows).
 */
describe("the dashboard in a browser", { skip: browserSkipReason() }, () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  let open: RunningGateway;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;

  const config = (extra: Record<string, unknown> = {}) => {
    const args = ["-c", "512", "-np", "1"];
    return {
      llamaServer: { binary: assets.llamaServer },
      scheduler: { maxLoadedModels: 2 },
      auth: { apiKeys: [{ name: "user", key: USER }], adminKeys: [{ name: "ops", key: ADMIN }] },
      models: { [A]: { model: assets.tinyModel, args }, [B]: { model: assets.tinyModel, args } },
      ...extra,
    };
  };

  before(async () => {
    assets = await testAssets();
    // Each is kept as soon as it is up, so that `after` stops whatever started if another failed.
    const started = await Promise.allSettled([
      startGateway(config()).then((g) => (gateway = g)),
      startGateway({ ...config(), models: { [A]: config().models[A] }, dashboard: { public: true } }).then(
        (g) => (open = g),
      ),
      launchBrowser().then((b) => (browser = b)),
    ]);
    for (const result of started) if (result.status === "rejected") throw result.reason;
    ({ page, watch } = await newPage());
  });

  after(async () => {
    await browser?.close();
    await Promise.all([gateway, open].filter((g) => g !== undefined).map((g) => stopClean(g)));
  });

  async function newPage(viewport = { width: 1400, height: 1000 }) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(UI_MS);
    return { context, page, watch: watchPage(page) };
  }

  /** A chat request as a client sends it; resolves with the status and the request id. */
  async function chat(
    g: RunningGateway,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; requestId: string; text: string }> {
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${USER}`, ...headers },
      body: JSON.stringify({
        messages: [{ role: "user", content: "hello" }],
        max_tokens: 8,
        temperature: 0,
        ...body,
      }),
    });
    return { status: res.status, requestId: res.headers.get("x-request-id") ?? "", text: await res.text() };
  }

  /** Opens the dashboard with the admin key and waits for the models and the live stream. */
  async function openWithKey(p: Page, g: RunningGateway): Promise<void> {
    await p.goto(`${g.url}/dashboard`);
    await byTestId(p, "key-input").fill(ADMIN);
    await byTestId(p, "key-submit").click();
    await modelRow(p, A).waitFor();
    await p.locator('[data-testid="conn-status"]', { hasText: "live" }).waitFor();
  }

  /**
   * The value the Requests/s chart's legend shows for the "all" series, hovering over the
   * buckets of the last minute from the newest back: the first above 0, or undefined. uPlot
   * shows a point's value in its legend only under the cursor; nothing else of the drawn data
   * is in the DOM (charts.mjs exposes no data attribute).
   */
  async function rpsOnChart(p: Page): Promise<number | undefined> {
    const chart = byTestId(p, "chart-rps");
    const box = await chart.locator(".u-over").boundingBox();
    assert.ok(box, "the chart has a plot area");
    const value = chart.locator(".u-legend .u-series").nth(1).locator(".u-value");
    const step = box.width / 119; // 120 buckets of 5 s over the width
    try {
      for (let n = 0; n < 12; n += 1) {
        await p.mouse.move(box.x + box.width - 1 - n * step, box.y + box.height / 2);
        const rate = Number.parseFloat((await value.textContent()) ?? "");
        if (rate > 0) return rate;
      }
      return undefined;
    } finally {
      await p.mouse.move(0, 0);
    }
  }

  /**
   * Where a chart's canvas has pixels of a series' stroke colour: how many, and how tall the
   * band they span is (in canvas pixels). A series at 0 everywhere is a flat line (a band a
   * few pixels tall); a series with no values at all draws nothing.
   */
  async function strokePixels(
    p: Page,
    chartId: string,
    hex: string,
  ): Promise<{ count: number; height: number }> {
    const rgb = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
    return byTestId(p, `chart-${chartId}`)
      .locator("canvas")
      .evaluate((element, [r = 0, g = 0, b = 0]) => {
        const canvas = element as unknown as {
          width: number;
          height: number;
          getContext(kind: "2d"): {
            getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
          };
        };
        const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
        let count = 0;
        let top = Number.POSITIVE_INFINITY;
        let bottom = -1;
        for (let i = 0; i < data.length; i += 4) {
          const near =
            Math.abs((data[i] ?? 0) - r) < 24 &&
            Math.abs((data[i + 1] ?? 0) - g) < 24 &&
            Math.abs((data[i + 2] ?? 0) - b) < 24;
          if (!near || (data[i + 3] ?? 0) < 200) continue;
          count += 1;
          const row = Math.floor(i / 4 / canvas.width);
          top = Math.min(top, row);
          bottom = Math.max(bottom, row);
        }
        return { count, height: count === 0 ? 0 : bottom - top + 1 };
      }, rgb);
  }

  test("the page loads with no console errors and, without a key, shows only the key prompt", async () => {
    await page.goto(`${gateway.url}/dashboard`);
    await byTestId(page, "key-prompt").waitFor();
    assert.equal(await byTestId(page, "models-table").count(), 0);
    assert.equal(await byTestId(page, "requests-table").count(), 0);
    assert.equal(await page.locator('[data-testid^="model-row-"]').count(), 0);
    assert.equal(await byTestId(page, "conn-status").count(), 0);
    // The page holds no data; its data API refuses a caller without a key.
    const state = await fetch(`${gateway.url}/dashboard/api/state`);
    assert.equal(state.status, 401);
    assert.deepEqual(watch.take(), []);
  });

  test("a user key is refused at the prompt; the admin key opens the dashboard with both models", async () => {
    await byTestId(page, "key-input").fill(USER);
    await byTestId(page, "key-submit").click();
    await page.locator('[data-testid="key-message"]', { hasText: "403" }).waitFor();
    assert.deepEqual(watch.take(/status of 403/), [], "only the refused key's 403");

    await byTestId(page, "key-input").fill(ADMIN);
    await byTestId(page, "key-submit").click();
    await modelRow(page, A, "unloaded").waitFor();
    await modelRow(page, B, "unloaded").waitFor();
    assert.equal(await byTestId(page, "key-prompt").count(), 0);
    await page.locator('[data-testid="conn-status"]', { hasText: "live" }).waitFor();
    // Every chart is drawn (uPlot canvases) and the live stream delivered the machine.
    for (const id of ["rps", "tps", "latency", "ttft", "cache"])
      await byTestId(page, `chart-${id}`).locator("canvas").waitFor();
    await page.locator('[data-testid="machine"]', { hasText: "CPU" }).waitFor();
    assert.deepEqual(watch.take(), [], "the whole dashboard renders without console errors");
  });

  test("a request from elsewhere loads a model: its row turns loaded and the request is listed, without a reload", async () => {
    await page.evaluate(() => {
      (globalThis as Record<string, unknown>).dashboardTestMarker = "same page";
    });
    const answer = await chat(gateway, { model: A }, { "x-request-id": "dash-load-1" });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.requestId, "dash-load-1");

    await modelRow(page, A, "loaded").waitFor();
    const row = requestRow(page, "dash-load-1");
    await row.waitFor();
    const text = (await row.textContent()) ?? "";
    assert.match(text, /tiny-a/);
    assert.match(text, /200/);
    assert.match(text, /user/, "the key's name");
    assert.equal(await modelRow(page, B).getAttribute("data-state"), "unloaded");
    assert.equal(
      await page.evaluate(() => (globalThis as Record<string, unknown>).dashboardTestMarker),
      "same page",
      "the page was not reloaded",
    );
    assert.deepEqual(watch.take(), []);
  });

  test("the requests chart gets a point", async () => {
    const canvas = byTestId(page, "chart-rps").locator("canvas");
    await canvas.waitFor();
    const size = await canvas.boundingBox();
    assert.ok(size !== null && size.width > 100 && size.height > 50, "the canvas is laid out");
    // The chart redraws once a second: poll until the legend shows a rate above zero.
    const rate = await waitFor("a request rate above 0 on the chart", () => rpsOnChart(page), UI_MS, 250);
    assert.ok(rate > 0);
    // And it is drawn: the "all" line rises well above its flat zero line.
    const drawn = await strokePixels(page, "rps", "#5aa9e6");
    assert.ok(drawn.height > 20, `the line rises: ${JSON.stringify(drawn)}`);
    assert.deepEqual(watch.take(), []);
  });

  test("a chart with one bucket of data draws it as a dot (latency)", async () => {
    // One request so far: one latency bucket between empty ones, which a line alone cannot
    // show. p95 equals p50 and is drawn over it: either colour.
    const drawn = async () => {
      const [p50, p95] = await Promise.all([
        strokePixels(page, "latency", "#a371f7"),
        strokePixels(page, "latency", "#db8a3a"),
      ]);
      return p50.count + p95.count > 0 ? true : undefined;
    };
    await waitFor("the latency chart to draw its point", drawn, UI_MS, 250);
  });

  test("the playground streams a reply with its time to first token", async () => {
    await byTestId(page, "playground-model").selectOption(A);
    await byTestId(page, "playground-input").fill("Tell me a story");
    await byTestId(page, "playground-send").click();
    const output = byTestId(page, "playground-output");
    const reply = await waitFor(
      "the playground's reply",
      async () => ((await output.textContent()) ?? "").trim() || undefined,
      30_000,
      100,
    );
    assert.ok(reply.length > 0);
    // Done streaming: Send is enabled again; the TTFT and speed show numbers.
    await page.locator('[data-testid="playground-send"]:enabled').waitFor({ timeout: 60_000 });
    assert.match((await byTestId(page, "playground-ttft").textContent()) ?? "", /\d+(\.\d+)? (ms|s)/);
    assert.match((await byTestId(page, "playground-tps").textContent()) ?? "", /tok\/s/);
    assert.equal(await byTestId(page, "playground-error").count(), 0);
    assert.deepEqual(watch.take(), []);
  });

  test("the logs panel follows a loaded model's llama-server output", async () => {
    await byTestId(page, "logs-model").selectOption(A);
    await page.locator('[data-testid="logs-status"]', { hasText: "following" }).waitFor();
    await byTestId(page, "logs-output").locator(".line").first().waitFor();
    // Stop following before the next test unloads the model.
    await byTestId(page, "logs-model").selectOption("");
    assert.deepEqual(watch.take(), []);
  });

  test("Unload with the admin key unloads the model", async () => {
    await modelRow(page, A, "loaded").waitFor();
    await byTestId(page, `model-unload-${A}`).click();
    await modelRow(page, A, "unloaded").waitFor();
    await page.locator('[data-testid="action-message"]', { hasText: `Unloaded ${A}` }).waitFor();
    assert.equal((await modelStatus(gateway, A, ADMIN)).state, "unloaded");
    assert.deepEqual(watch.take(), []);
  });

  test("with dashboard.public the page is read-only: no key asked, and an unload without a key is refused", async () => {
    const loaded = await chat(open, { model: A });
    assert.equal(loaded.status, 200, loaded.text);
    const ro = await newPage();
    try {
      await ro.page.goto(`${open.url}/dashboard`);
      await modelRow(ro.page, A, "loaded").waitFor();
      assert.equal(await byTestId(ro.page, "key-prompt").count(), 0);
      await byTestId(ro.page, "readonly-note").waitFor();
      assert.equal(await ro.page.locator('[data-testid^="model-unload-"]').count(), 0);
      assert.equal(await ro.page.locator('[data-testid^="model-load-"]').count(), 0);
      // The page's data needs no key here; the admin API still does.
      const status = await ro.page.evaluate(async (id) => {
        const res = await fetch(`/admin/models/${id}/unload`, { method: "POST" });
        return res.status;
      }, A);
      assert.equal(status, 401);
      assert.equal((await modelStatus(open, A, ADMIN)).state, "loaded");
      assert.equal(await modelRow(ro.page, A).getAttribute("data-state"), "loaded");
      assert.deepEqual(ro.watch.take(/status of 401/), [], "only the refused unload's 401");
    } finally {
      await ro.context.close();
    }
  });

  test("client-supplied text (model name, User-Agent) is shown as text, never as markup", async () => {
    const failed = await chat(gateway, { model: XSS }, { "user-agent": XSS, "x-request-id": "dash-xss-1" });
    assert.ok(failed.status >= 400, `the request fails: ${failed.status} ${failed.text}`);
    const row = requestRow(page, "dash-xss-1");
    await row.click();
    const details = byTestId(page, "request-details");
    await details.waitFor();
    // Both the asked model and the User-Agent are listed, each exactly as sent.
    await page.getByText(XSS, { exact: true }).first().waitFor();
    assert.equal(await details.getByText(XSS, { exact: true }).count(), 2);
    assert.equal(await details.locator('[data-field="modelAsked"]').textContent(), XSS);
    assert.equal(await details.locator('[data-field="userAgent"]').textContent(), XSS);
    assert.equal(await page.locator('img[src="x"]').count(), 0, "no <img> was made from the text");
    assert.equal(await page.locator("img").count(), 0);
    await byTestId(page, "request-details-close").click();
    assert.deepEqual(watch.take(), [], "no dialog, no CSP violation, no error");
  });

  test("the page reconnects after the gateway restarts on the same port", async () => {
    const port = Number(new URL(gateway.url).port);
    await stopClean(gateway);
    await page.locator('[data-testid="conn-status"]', { hasText: "reconnecting" }).waitFor();
    gateway = await startGateway(config({ server: { port } }));
    assert.equal(gateway.url, `http://127.0.0.1:${port}`);
    // The stream retries after 1, 2, 4, 8, at most 10 s.
    await page.locator('[data-testid="conn-status"]', { hasText: "live" }).waitFor({ timeout: 25_000 });
    const answer = await chat(gateway, { model: A, stream: true }, { "x-request-id": "dash-after-restart" });
    assert.equal(answer.status, 200, answer.text);
    await requestRow(page, "dash-after-restart").waitFor();
    // While the gateway was down the page's calls failed; nothing else went wrong.
    assert.deepEqual(watch.take(/ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET/), []);
  });

  test("a screenshot of the dashboard with two models and some traffic (docs/dashboard.png)", async () => {
    // Some traffic on one model (streamed and not, a cache hit, one miss of a name); B stays unloaded.
    for (const [n, extra] of [{}, { stream: true }, {}, { stream: true, max_tokens: 16 }, {}].entries())
      assert.equal(
        (await chat(gateway, { model: A, ...extra }, { "x-request-id": `dash-shot-${n}` })).status,
        200,
      );
    assert.equal((await chat(gateway, { model: "no-such-model" })).status, 404);
    const shot = await newPage();
    try {
      await openWithKey(shot.page, gateway);
      await modelRow(shot.page, A, "loaded").waitFor();
      await modelRow(shot.page, B, "unloaded").waitFor();
      await requestRow(shot.page, "dash-shot-4").waitFor();
      await waitFor("the chart's points", () => rpsOnChart(shot.page), UI_MS, 250);
      const png = await shot.page.screenshot();
      assert.ok(png.length > 10_000, "a real image");
      if (process.env.UPDATE_SCREENSHOT === "1") writeFileSync(SCREENSHOT, png);
      assert.deepEqual(shot.watch.take(), []);
    } finally {
      await shot.context.close();
    }
  });
});
