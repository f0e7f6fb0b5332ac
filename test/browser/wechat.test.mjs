/**
 * The WeChat menu editor in a real browser, against the demo's sandbox app (which plays WeChat's
 * API; `npm start` seeds it, the harness does not, so it is added here through the API): build a
 * menu with the editor's controls, see WeChat's limits as you type, reorder, publish, and read
 * the published menu back; then the account's other work: news and ask-my-endpoint replies,
 * an image broadcast from uploaded media, follower remarks, the blacklist (confirmed), tag
 * rename and delete, and a conditional menu for a tag.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { DEMO_WECHAT_APP_ID as DEMO_APP } from "../../scripts/seed.mjs";
import { LAPTOP, PHONE, startDashboard } from "./harness.mjs";

const MENU = `/dashboard/wechat/${DEMO_APP}/menu`;

let dash;
before(async () => {
  dash = await startDashboard();
  // The sandbox's own settings, as scripts/seed.mjs has them (not secrets: the sandbox is local).
  const res = await fetch(`${dash.url}/v1/wechat/apps`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${dash.server.credentials.liveApiKey}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      app_id: DEMO_APP,
      app_secret: "5a4db0c5a4db0c5a4db0c5a4db0c5a4d",
      token: "relaybox",
      encoding_aes_key: "5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5",
      mode: "safe",
      api_base_url: `${dash.url}/sandbox/wechat`,
      // Verified, as the sandbox's demo account is: it may mass-send (the broadcasts test).
      verified: true,
    }),
  });
  assert.equal(res.status, 201, await res.text());
});
after(async () => {
  await dash?.stop();
});

test("builds, reorders and publishes a WeChat menu, then reads it back", async () => {
  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);
  await page.locator("nav.sidenav").getByRole("link", { name: "WeChat accounts" }).click();
  await page.getByRole("link", { name: DEMO_APP }).click();
  await page.locator("nav.tabs").getByRole("link", { name: "Menu" }).click();
  await page.waitForURL(new RegExp(`${MENU}$`));
  const editor = page.locator("form.menu-editor.enhanced");
  await editor.waitFor();

  // One top slot shown, the others behind "Add a top button"; the count says so.
  assert.equal(await page.locator('[data-slot="button.1"]').isVisible(), false);
  assert.match(await page.locator('[data-count="top"]').textContent(), /1 \/ 3/);

  // The byte count follows the typing: six Chinese characters are 18 bytes, over the 16.
  await page.fill('input[name="button.0.name"]', "一二三四五六");
  const bytes = page.locator('[data-bytes-for="button.0.name"]');
  assert.match(await bytes.textContent(), /18 \/ 16/);
  assert.match((await bytes.getAttribute("class")) ?? "", /over/);
  await page.fill('input[name="button.0.name"]', "News");
  assert.match(await bytes.textContent(), /4 \/ 16/);
  await page.selectOption('select[name="button.0.type"]', "view");
  await page.fill('input[name="button.0.value"]', "https://example.com/news");

  await page.getByRole("button", { name: "Add a top button" }).click();
  await page.fill('input[name="button.1.name"]', "帮助");
  const help = page.locator('[data-slot="button.1"]');
  await help.getByRole("button", { name: "Add a sub-button" }).first().click();
  await page.fill('input[name="button.1.sub_button.0.name"]', "Contact us");
  await page.selectOption('select[name="button.1.sub_button.0.type"]', "click");
  await page.fill('input[name="button.1.sub_button.0.value"]', "CONTACT");
  assert.match(await page.locator('[data-count="button.1"]').textContent(), /1 \/ 5/);

  // Reorder: "帮助" (with its sub-button) moves above "News".
  await help.locator(".slot-controls").first().getByRole("button", { name: "Move up" }).click();
  assert.equal(await page.inputValue('input[name="button.0.name"]'), "帮助");
  assert.equal(await page.inputValue('input[name="button.0.sub_button.0.name"]'), "Contact us");
  assert.equal(await page.inputValue('input[name="button.1.name"]'), "News");
  // The opened sub-slot moved with "帮助": "News" shows none.
  assert.equal(await page.locator('[data-slot="button.1.sub_button.0"]').isVisible(), false);
  assert.match(await page.locator('[data-count="button.1"]').textContent(), /0 \/ 5/);
  await dash.screenshot(page, "wechat-menu-en-1280");

  await Promise.all([
    page.waitForURL(new RegExp(`${MENU}$`)),
    page.getByRole("button", { name: "Publish to WeChat" }).click(),
  ]);
  assert.match(await page.locator(".flash.ok").textContent(), /published/);
  // Read back from the sandbox's menu/get: the published preview and the form.
  const published = page.locator('[data-testid="published-menu"]');
  assert.deepEqual(await published.locator(":scope > li > strong").allTextContents(), [
    "帮助",
    "News",
  ]);
  assert.match(await published.textContent(), /Contact us/);
  assert.equal(await page.inputValue('input[name="button.1.value"]'), "https://example.com/news");
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});

test("shows the editor in Chinese on a phone", async () => {
  const page = await dash.newPage({ viewport: PHONE, locale: "zh-CN" });
  await dash.signIn(page);
  await page.goto(MENU);
  await page.locator("form.menu-editor.enhanced").waitFor();
  assert.match(await page.locator("h1.page-title").textContent(), /自定义菜单/);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the phone`);
  await dash.screenshot(page, "wechat-menu-zh-390");
  assert.deepEqual(dash.errors, []);
  await page.context().close();
});

/** Whether the page is wider than its viewport (a phone must not scroll sideways). */
const overflowOf = (page) =>
  page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

/** Submits with `button` and waits for the page the form answers with. */
async function submit(page, button) {
  await Promise.all([page.waitForLoadState("load"), button.click()]);
  await page.waitForLoadState("load");
}

test("adds news and endpoint replies, broadcasts an image, and manages followers and tags", async () => {
  const base = `/dashboard/wechat/${DEMO_APP}`;
  const page = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(page);

  // A webhook endpoint for the "ask my endpoint" reply.
  await page.goto("/dashboard/webhooks");
  await page.fill('input[name="url"]', "https://hooks.example.com/ask");
  await submit(page, page.getByRole("button", { name: "Add endpoint" }));

  // Auto-replies: a news reply and a query to the endpoint.
  await page.goto(`${base}/auto-replies`);
  await page.selectOption('select[name="match"]', "subscribe");
  await page.selectOption('select[name="reply.type"]', "news");
  await page.fill('input[name="reply.articles.0.title"]', "Welcome aboard");
  await page.fill('input[name="reply.articles.0.url"]', "https://example.com/welcome");
  await submit(page, page.getByRole("button", { name: "Add rule" }));
  assert.match(await page.locator(".flash.ok").textContent(), /added/i);
  await page.selectOption('select[name="match"]', "prefix");
  await page.fill('input[name="keyword"]', "order");
  await page.selectOption('select[name="reply.type"]', "query");
  await page.selectOption('select[name="reply.endpoint_id"]', {
    label: "https://hooks.example.com/ask",
  });
  await submit(page, page.getByRole("button", { name: "Add rule" }));
  const rules = page.locator("table tbody");
  assert.match(await rules.textContent(), /Welcome aboard/);
  assert.match(await rules.textContent(), /Ask my endpoint\s*https:\/\/hooks\.example\.com\/ask/);
  await dash.screenshot(page, "wechat-auto-replies-en-1280");

  // Media, then an image broadcast that picks it.
  await page.goto(`${base}/media`);
  await page.selectOption('select[name="type"]', "image");
  await page.setInputFiles('input[name="file"]', {
    name: "poster.png",
    mimeType: "image/png",
    buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49]),
  });
  await submit(page, page.getByRole("button", { name: "Upload", exact: true }));
  await page.goto(`${base}/broadcasts`);
  await page.selectOption('select[name="type"]', "image");
  await page.selectOption('select[name="media_ids.0"]', { label: "Image: poster.png" });
  await submit(page, page.getByRole("button", { name: "Broadcast", exact: true }));
  assert.match(await page.locator("table tbody").textContent(), /Image/);
  await dash.screenshot(page, "wechat-broadcasts-en-1280");

  // Followers: a remark, a tag renamed, a user blacklisted after the confirmation.
  await page.goto(`${base}/followers`);
  await page.fill('input[name="openid"]', "oSandboxFollower000000000001");
  await page.fill('input[name="remark"]', "Regular");
  await submit(page, page.getByRole("button", { name: "Save remark" }));
  assert.match(await page.locator(".flash.ok").textContent(), /Remark saved/);
  await page.fill('form[action$="/tags"] input[name="name"]', "VIP");
  await submit(page, page.getByRole("button", { name: "Create tag" }));
  const vip = page.locator("tr", { has: page.locator("td", { hasText: /^VIP$/ }) });
  await vip.locator('input[name="name"]').fill("Gold");
  await submit(page, vip.getByRole("button", { name: "Rename" }));
  assert.match(await page.locator(".flash.ok").textContent(), /Gold/);
  const blacklist = page.locator("#blacklist");
  await blacklist.getByText("Blacklist users…").click();
  await blacklist.locator('textarea[name="openids"]').fill("oSandboxFollower000000000002");
  await submit(page, blacklist.getByRole("button", { name: "Confirm" }));
  assert.match(
    await page.locator("#blacklist table").textContent(),
    /oSandboxFollower000000000002/,
  );
  await dash.screenshot(page, "wechat-followers-en-1280");

  // A conditional menu for the Gold tag (the first test published the default menu).
  await page.goto(`${base}/menu`);
  await page.locator("form.menu-editor.enhanced").waitFor();
  const gold = page.locator('select[name="tag_id"] option', { hasText: "Gold" });
  await page.selectOption('select[name="tag_id"]', await gold.getAttribute("value"));
  await submit(page, page.getByRole("button", { name: "Publish to WeChat" }));
  assert.match(await page.locator(".flash.ok").textContent(), /Conditional menu \d+ published/);
  assert.deepEqual(dash.errors, []);
  await page.context().close();

  // The same pages on a phone: nothing wider than the screen.
  const phone = await dash.newPage({ viewport: PHONE });
  await dash.signIn(phone);
  for (const [path, name] of [
    [`${base}/followers`, "wechat-followers-en-390"],
    [`${base}/auto-replies`, "wechat-auto-replies-en-390"],
    [`${base}/broadcasts`, "wechat-broadcasts-en-390"],
  ]) {
    await phone.goto(path);
    const overflow = await overflowOf(phone);
    assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone`);
    await dash.screenshot(phone, name);
  }
  assert.deepEqual(dash.errors, []);
  await phone.context().close();

  // The broadcasts page in Chinese: the image broadcast above in the list, a template broadcast
  // being written (the template picked from the account's list, its data as key=value lines).
  const zh = await dash.newPage({ locale: "zh-CN" });
  await dash.signIn(zh);
  await zh.goto(`${base}/broadcasts`);
  assert.match(await zh.locator("h1.page-title").textContent(), /群发/);
  assert.match(await zh.locator("table tbody").textContent(), /图片/);
  await zh.selectOption('select[name="type"]', "template");
  await zh.fill('textarea[name="template.data"]', "first=周末特卖\nremark=全场八折");
  assert.match(await zh.locator('label[for="field-template.data"]').textContent(), /模板数据/);
  await dash.screenshot(zh, "wechat-broadcasts-zh-1280");
  assert.deepEqual(dash.errors, []);
  await zh.context().close();
});
