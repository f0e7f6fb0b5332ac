/** The dashboard in a real browser: sign in, the navigation, the language switch, both widths. */
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

test("signs in, shows the admin's navigation, switches to Chinese and keeps it", async () => {
  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);
  // The admin lands on the overview; this test walks from the messages list.
  await page.goto("/dashboard/messages");
  const nav = page.locator("nav.sidenav");
  await nav.waitFor();
  for (const label of ["Overview", "Messages", "Review queue", "Users"]) {
    assert.equal(await nav.getByRole("link", { name: label, exact: true }).count(), 1, label);
  }
  assert.match(await page.locator("header.topbar").textContent(), /Relaybox Demo/);
  // The vendored libraries load (no CSP refusal): htmx and uPlot define their globals.
  assert.equal(await page.evaluate(() => typeof window.htmx), "object");
  assert.equal(await page.evaluate(() => typeof window.uPlot), "function");
  await dash.screenshot(page, "messages-en-1280");

  await Promise.all([page.waitForURL(/\/dashboard/), page.click('nav.lang a[lang="zh-CN"]')]);
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  assert.equal(await nav.getByRole("link", { name: "审核队列", exact: true }).count(), 1);
  assert.match(await page.locator("h1.page-title").textContent(), /消息/);
  // Remembered: another page is Chinese too.
  await page.goto("/dashboard/users");
  assert.match(await page.locator("h1.page-title").textContent(), /用户/);
  await dash.screenshot(page, "users-zh-1280");
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});

test("fits a phone: the menu opens from its button and the page does not scroll sideways", async () => {
  const page = await dash.newPage({ viewport: PHONE, locale: "zh-CN" });
  await dash.signIn(page);
  await page.goto("/dashboard/messages");
  // Chinese by default for a browser that asks for it.
  assert.equal(await page.locator("html").getAttribute("lang"), "zh-CN");
  const nav = page.locator("nav.sidenav");
  assert.equal(await nav.isVisible(), false);
  await page.click("label.nav-toggle-label");
  assert.equal(await nav.isVisible(), true);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await dash.screenshot(page, "messages-zh-390");
  await page.click("label.nav-toggle-label");
  await page.goto("/dashboard/lang/en?back=%2Fdashboard%2Fmessages");
  await dash.screenshot(page, "messages-en-390");
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});
