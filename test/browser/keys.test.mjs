/**
 * The admin pages in a real browser: an API key created (shown once) and revoked after its
 * confirmation; an analyst, invited through the Users page, sees no admin page in the navigation
 * and is refused (403) when going to one or posting to it directly.
 */
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

const ADMIN_PAGES = ["API keys", "Webhooks", "Providers and routes", "Users"];
const apiStatus = async (key) => {
  const res = await fetch(`${dash.url}/v1/messages`, {
    headers: { authorization: `Bearer ${key}` },
  });
  await res.body?.cancel();
  return res.status;
};

test("creates an API key shown once, then revokes it after confirming", async () => {
  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);
  await Promise.all([
    page.waitForURL(/\/dashboard\/keys$/),
    page.locator("nav.sidenav").getByRole("link", { name: "API keys", exact: true }).click(),
  ]);
  await page.fill("#field-name", "browser key");
  await page.uncheck('input[name="scopes"][value="messages:send"]');
  await page.check('input[name="scopes"][value="messages:read"]');
  await page.fill('input[name="rate_limit.per_second"]', "20");
  await Promise.all([
    page.waitForLoadState("load"),
    page.click('form[action="/dashboard/keys"] button[type="submit"]'),
  ]);
  const key = (await page.locator("pre.new-key").textContent()).trim();
  assert.match(key, /^rbx_live_/);
  assert.equal(await apiStatus(key), 200);
  const row = page.locator("tr", { hasText: "browser key" });
  assert.match(await row.textContent(), /20\/s, bursts of 40/);
  await dash.screenshot(page, "keys-en-1280");

  // Shown once: the list alone never has it.
  await page.goto("/dashboard/keys");
  assert.equal(await page.locator("pre.new-key").count(), 0);
  assert.equal((await page.content()).includes(key), false);

  await page
    .locator("tr", { hasText: "browser key" })
    .locator("summary", { hasText: "Revoke" })
    .click();
  const confirm = page.locator("tr", { hasText: "browser key" }).locator(".confirm-box");
  assert.match(await confirm.textContent(), /cannot be undone/);
  await Promise.all([
    page.waitForURL(/\/dashboard\/keys$/),
    confirm.getByRole("button", { name: "Confirm" }).click(),
  ]);
  assert.match(await page.locator(".flash.ok").textContent(), /is revoked/);
  const revoked = page.locator("tr", { hasText: "browser key" });
  assert.match(await revoked.locator(".pill").textContent(), /revoked/);
  assert.equal(await revoked.locator("summary").count(), 0);
  assert.equal(await apiStatus(key), 401);

  // The providers page in Chinese: credentials write-only, callback URLs to copy.
  await page.goto("/dashboard/lang/zh?back=%2Fdashboard%2Fproviders");
  assert.match(await page.locator("h1.page-title").textContent(), /通道与路由/);
  await dash.screenshot(page, "providers-zh-1280");
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});

test("an analyst sees no admin page and is refused one by a direct GET or POST", async () => {
  // The admin invites the analyst on the Users page; the analyst sets a password.
  const admin = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(admin);
  await admin.goto("/dashboard/users");
  const email = `analyst-${Date.now()}@example.com`;
  await admin.fill("#field-email", email);
  await admin.selectOption("#field-role", "analyst");
  await Promise.all([
    admin.waitForLoadState("load"),
    admin.click('form[action="/dashboard/users"] button[type="submit"]'),
  ]);
  const link = (await admin.locator("pre.invitation-url").textContent()).trim();
  await admin.goto("/dashboard/keys");
  const keyId = await admin
    .locator("tr[data-key]", { has: admin.locator(".pill.active") })
    .first()
    .getAttribute("data-key");
  await admin.context().close();

  const page = await dash.newPage({ viewport: LAPTOP });
  const password = "analyst browser password 1";
  await page.goto(new URL(link).pathname);
  await page.fill('input[name="password"]', password);
  await Promise.all([page.waitForURL(/accepted=1/), page.click('button[type="submit"]')]);
  await dash.signIn(page, { email, password });

  const nav = page.locator("nav.sidenav");
  await nav.waitFor();
  assert.equal(await nav.getByRole("link", { name: "Contacts", exact: true }).count(), 1);
  for (const label of ADMIN_PAGES) {
    assert.equal(await nav.getByRole("link", { name: label, exact: true }).count(), 0, label);
  }

  const before403 = dash.errors.length;
  for (const path of ["/dashboard/keys", "/dashboard/webhooks", "/dashboard/providers"]) {
    const res = await page.goto(path);
    assert.equal(res.status(), 403, path);
  }
  // The browser reported the three refusals; they are this test's point, not an error.
  assert.equal(dash.errors.length - before403, 3);
  dash.errors.splice(before403);

  await page.goto("/dashboard/contacts");
  const csrf = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  const headers = { origin: dash.url };
  const created = await page.request.post("/dashboard/keys", {
    headers,
    form: { csrf, name: "sneaky", mode: "live", scopes: "admin" },
  });
  assert.equal(created.status(), 403);
  const revoke = await page.request.post(`/dashboard/keys/${keyId}/revoke`, {
    headers,
    form: { csrf },
  });
  assert.equal(revoke.status(), 403);
  // Nothing changed: the admin's key still works.
  const admin2 = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(admin2);
  await admin2.goto("/dashboard/keys");
  assert.equal(await admin2.locator("tr", { hasText: "sneaky" }).count(), 0);
  assert.equal(await admin2.locator(`tr[data-key="${keyId}"] .pill`).textContent(), "active");
  await admin2.context().close();
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});
