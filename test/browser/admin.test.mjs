/** Settings and the audit log in a real browser: Chinese on the Settings page, a change saved and audited. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LAPTOP, startDashboard } from "./harness.mjs";

let dash;
before(async () => {
  dash = await startDashboard();
});
after(async () => {
  await dash?.stop();
});

test("switches to Chinese on Settings, saves a send rate and finds it in the audit log", async () => {
  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);
  await page.goto("/dashboard/settings");
  await Promise.all([
    page.waitForURL(/\/dashboard\/settings/),
    page.click('nav.lang a[lang="zh-CN"]'),
  ]);
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  assert.equal(await page.locator("h1").first().textContent(), "设置");
  assert.equal(await page.getByRole("heading", { name: "发送速率" }).count(), 1);

  const rate = page.locator("#settings-rate");
  await rate.locator('input[name="send_rate"]').fill("42");
  await Promise.all([
    page.waitForURL(/\/dashboard\/settings/),
    rate.getByRole("button", { name: "保存" }).click(),
  ]);
  assert.equal(await page.locator(".flash.ok").textContent(), "设置已保存。");
  assert.equal(await page.locator('#settings-rate input[name="send_rate"]').inputValue(), "42");
  await dash.screenshot(page, "settings-zh-1280");

  await page.goto("/dashboard/audit?action=tenant.update");
  const row = page.locator("tbody tr").first();
  assert.match(await row.textContent(), /tenant\.update/);
  assert.match(await row.textContent(), /send_rate: \d+ → 42/);
  await Promise.all([
    page.waitForURL(/\/dashboard\/audit\/verify/),
    page.getByRole("button", { name: "校验哈希链" }).click(),
  ]);
  assert.match(await page.locator("#chain-result").textContent(), /哈希链完整/);

  await page.goto("/dashboard/lang/en?back=%2Fdashboard%2Faudit");
  assert.equal(await page.locator("h1").first().textContent(), "Audit log");
  await dash.screenshot(page, "audit-en-1280");
  assert.deepEqual(dash.errors, []);
});
