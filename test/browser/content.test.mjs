/**
 * Templates in a real browser: the admin invites a reviewer, creates a template in the editor
 * (live preview), submits it; the reviewer signs in and approves it from the review queue.
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

const REVIEWER = { email: "reviewer@example.com", password: "Reviewer-passphrase-2026!" };

test("creates a template, submits it, and a reviewer approves it", async () => {
  const admin = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(admin);

  // The admin invites a reviewer; the reviewer sets a password from the invitation link.
  await admin.goto("/dashboard/users");
  await admin.fill('input[name="email"]', REVIEWER.email);
  await admin.selectOption('select[name="role"]', "reviewer");
  await Promise.all([
    admin.waitForLoadState("load"),
    admin.locator('form[action="/dashboard/users"] button[type="submit"]').click(),
  ]);
  const link = (await admin.locator(".invitation-url").textContent()).trim();
  const reviewer = await dash.newPage({ viewport: LAPTOP });
  await reviewer.goto(new URL(link).pathname);
  await reviewer.fill('input[name="password"]', REVIEWER.password);
  await Promise.all([
    reviewer.waitForURL(/\/dashboard\/login/),
    reviewer.click('button[type="submit"]'),
  ]);

  // The editor: the preview follows the text as it is typed (htmx).
  await admin.goto("/dashboard/templates");
  await Promise.all([admin.waitForURL(/\/templates\/new$/), admin.click("text=New template")]);
  await admin.fill('input[name="name"]', "Delivery notice");
  await admin.fill('input[name="variables.0.name"]', "code");
  await admin.selectOption('select[name="variables.0.type"]', "code");
  await admin.fill('input[name="variables.0.max_length"]', "8");
  await admin.fill('textarea[name="body"]', "Your parcel code is {{code}}.");
  await admin.locator("#template-preview pre").filter({ hasText: "123456" }).waitFor();
  await Promise.all([
    admin.waitForURL(/\/dashboard\/templates\/tpl_/),
    admin.click('form[action="/dashboard/templates"] button[type="submit"]'),
  ]);
  const id = admin.url().split("/").pop();
  assert.match(await admin.locator(".flash.ok").textContent(), /Delivery notice/);
  await Promise.all([
    admin.waitForLoadState("load"),
    admin.click(`form[action="/dashboard/templates/${id}/submit"] button`),
  ]);
  assert.match(await admin.locator("main").textContent(), /Pending review/);
  await dash.screenshot(admin, "template-en-1280");

  // The reviewer approves it, after confirming.
  await dash.signIn(reviewer, REVIEWER);
  await reviewer.goto("/dashboard/reviews");
  const card = reviewer.locator(".card", { hasText: id });
  await card.locator("summary", { hasText: "Approve" }).click();
  await Promise.all([
    reviewer.waitForURL(/\/dashboard\/reviews\?approved=/),
    card.locator(`form[action="/dashboard/templates/${id}/approve"] button`).click(),
  ]);
  assert.match(await reviewer.locator(".flash.ok").textContent(), new RegExp(id));

  await admin.goto(`/dashboard/templates/${id}`);
  assert.match(await admin.locator("main").textContent(), /Approved/);

  // In Chinese, on a phone: the templates list.
  const phone = await dash.newPage({ viewport: PHONE, locale: "zh-CN" });
  await dash.signIn(phone);
  await phone.goto(`/dashboard/templates/${id}`);
  assert.match(await phone.locator("main").textContent(), /已通过/);
  const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= PHONE.width, `the page is ${wide}px wide`);
  await dash.screenshot(phone, "template-zh-390");
  assert.deepEqual(dash.errors, []);
  for (const p of [admin, reviewer, phone]) {
    await p.context().close();
  }
});
