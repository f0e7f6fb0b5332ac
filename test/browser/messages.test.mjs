/**
 * The Messages area in a real browser: send one message with the live preview and watch it turn
 * delivered (the local sandbox delivers); upload a CSV batch and watch its progress bar fill.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LAPTOP, PHONE, startDashboard } from "./harness.mjs";

let dash;
before(async () => {
  dash = await startDashboard();
});
after(async () => {
  await dash?.stop();
});

test("sends a message with a live preview and watches it turn delivered", async () => {
  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);
  await page.goto("/dashboard/send");
  await page.fill('input[name="to"]', "+8613800138000");
  await page.fill('textarea[name="body"]', "你好，这是浏览器测试发出的短信");
  // htmx asks the preview route as the user types: one UCS-2 segment (with the signature).
  const segments = page.locator('#preview [data-figure="segments"]');
  await segments.waitFor();
  assert.equal(await segments.textContent(), "1");
  assert.equal(await page.locator('#preview [data-figure="encoding"]').textContent(), "UCS-2");
  // A longer text is two segments, without a reload.
  await page.fill('textarea[name="body"]', "你好，这是浏览器测试发出的短信。".repeat(6));
  await page.locator('#preview [data-figure="segments"]', { hasText: "2" }).waitFor();
  await dash.screenshot(page, "send-en-1280");

  await Promise.all([
    page.waitForURL(/\/dashboard\/messages\/msg_[0-9A-Z]{26}$/),
    page.click('#send-form button[type="submit"]'),
  ]);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = (await page.locator("h2 .pill").textContent())?.trim();
    if (status === "delivered") {
      break;
    }
    assert.ok(Date.now() < deadline, `still ${status} after 30 s`);
    await page.waitForTimeout(1_000);
    await page.reload();
  }
  // The timeline shows the hand-over and the final status.
  assert.match(await page.locator("ol.timeline").textContent(), /Handed to .*Final status/s);
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});

test("uploads a CSV batch, reads its report and sees its progress fill, in Chinese on a phone", async () => {
  const page = await dash.newPage({ viewport: PHONE, locale: "zh-CN" });
  await dash.signIn(page);
  await page.goto("/dashboard/batches");
  const csv = ["to", "+8613800138001", "+8613800138002", "12", "+8613800138003"].join("\n");
  await page.setInputFiles('input[name="csv"]', {
    name: "recipients.csv",
    mimeType: "text/csv",
    buffer: Buffer.from(csv),
  });
  await page.fill('textarea[name="body"]', "批量测试短信");
  await Promise.all([
    page.waitForLoadState("load"),
    page.click('form[enctype="multipart/form-data"] button[type="submit"]'),
  ]);
  const report = page.locator("#batch-report");
  await report.waitFor();
  assert.match(await report.textContent(), /接收 3 条，拒绝 1 条/);
  // The refused row is the CSV's line 4 (the header is line 1).
  assert.equal(await report.locator("tbody tr td").first().textContent(), "4");
  // The batch's row polls its progress (htmx) until every message is finished.
  const progress = report.locator(".batch-progress");
  assert.equal(await progress.locator("progress").getAttribute("max"), "3");
  await report.locator('.batch-progress[data-status="completed"]').waitFor({ timeout: 30_000 });
  assert.equal(await progress.locator("progress").getAttribute("value"), "3");
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await dash.screenshot(page, "batches-zh-390");
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});
