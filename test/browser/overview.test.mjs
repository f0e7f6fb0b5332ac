/** The Overview in a real browser: messages sent through the sandbox show in its uPlot chart. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LAPTOP, overflowsOf, PHONE, startDashboard } from "./harness.mjs";

let dash;
before(async () => {
  dash = await startDashboard();
});
after(async () => {
  await dash?.stop();
});

async function api(path, init = {}) {
  const res = await fetch(new URL(path, dash.url), {
    ...init,
    headers: {
      authorization: `Bearer ${dash.server.apiKey}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  return { status: res.status, body: await res.json() };
}

async function delivered(id) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { body } = await api(`/v1/messages/${id}`);
    if (body.status === "delivered") {
      return;
    }
    assert.ok(Date.now() < deadline, `${id} is still ${body.status}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

test("the overview chart renders with the day's sends, on a laptop and a phone", async () => {
  const ids = [];
  for (const to of ["+14155550101", "+14155550102", "+14155550103"]) {
    const sent = await api("/v1/messages", {
      method: "POST",
      body: JSON.stringify({ to, body: "overview chart" }),
    });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    ids.push(sent.body.id);
  }
  await Promise.all(ids.map(delivered));

  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);
  // The admin reads statistics: the overview is its home.
  assert.match(await page.locator("h1.page-title").textContent(), /Overview/);
  const canvas = page.locator("figure.chart canvas").first();
  await canvas.waitFor();
  const box = await canvas.boundingBox();
  assert.ok(box && box.width > 0 && box.height > 0, `canvas box ${JSON.stringify(box)}`);
  // The chart is drawn from the day's numbers: the last point of a series is today's sends.
  const today = await page.evaluate(() => {
    const spec = JSON.parse(document.querySelector("[data-chart]").dataset.chart);
    return spec.series.reduce((n, s) => n + (s.values.at(-1) ?? 0), 0);
  });
  assert.ok(today >= 3, `today's point is ${today}`);
  assert.equal(
    await page.locator('section[aria-label="Today"] dd').first().textContent(),
    String(today),
  );
  assert.deepEqual(await overflowsOf(page, { fit: true }), []);
  await dash.screenshot(page, "overview-en-1280");
  await page.context().close();

  const phone = await dash.newPage({ viewport: PHONE, locale: "zh-CN" });
  await dash.signIn(phone);
  assert.match(await phone.locator("h1.page-title").textContent(), /概览/);
  const small = await phone.locator("figure.chart canvas").first().boundingBox();
  assert.ok(small && small.width > 0 && small.width <= PHONE.width, JSON.stringify(small));
  const overflow = await phone.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  assert.deepEqual(await overflowsOf(phone), []);
  // A provider's name in a narrow table stays whole (it read "san/dbo/x" when ids could break
  // anywhere): the table scrolls instead.
  const names = await phone.locator("td.mono", { hasText: /^sandbox$/ }).evaluateAll((cells) =>
    cells.map((td) => {
      const range = document.createRange();
      range.selectNodeContents(td);
      return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    }),
  );
  assert.ok(names.length > 0);
  assert.ok(
    names.every((lines) => lines === 1),
    `lines per name: ${names}`,
  );
  await dash.screenshot(phone, "overview-zh-390");
  await phone.goto("/dashboard/verification");
  assert.match(await phone.locator("h1.page-title").textContent(), /验证码/);
  assert.deepEqual(dash.errors, []);
  await phone.context().close();
});
