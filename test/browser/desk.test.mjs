/**
 * The service desk in a real browser: the desk switched on through the API, two agents signed in
 * (two contexts); a sandbox SMS "人工" and a WeChat sandbox message "人工" each land live with one
 * agent each, who reply through the conversation's channel and resolve; a message at night
 * becomes 留言 (left message) with its automatic answer. Screenshots of the workspace in zh and
 * en, at desktop width and 390 px.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually } from "../../scripts/local-server.mjs";
import { DEMO_WECHAT_APP_ID as DEMO_APP } from "../../scripts/seed.mjs";
import { LAPTOP, PHONE, startDashboard } from "./harness.mjs";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const always = Object.fromEntries(DAYS.map((d) => [d, [{ start: "00:00", end: "24:00" }]]));
const never = Object.fromEntries(DAYS.map((d) => [d, []]));
const PASSWORD = "desk-agent-password-1";

let dash;
const api = (path, init = {}, key = dash.server.credentials.liveApiKey) =>
  fetch(`${dash.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
  });

async function agent(email) {
  const res = await api("/v1/users", {
    method: "POST",
    body: JSON.stringify({ email, role: "agent" }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const { invitation_url: url } = JSON.parse(text);
  const page = await dash.newPage();
  await page.goto(url);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.context().close();
  return { email, password: PASSWORD };
}

async function smsIn(from, body) {
  const res = await fetch(
    `${dash.url}/hooks/sms/sandbox/${dash.server.credentials.hookToken}/inbound`,
    { method: "POST", body: JSON.stringify({ from, to: "+8610690000", body }) },
  );
  assert.ok(res.status < 300, await res.text());
}

before(async () => {
  dash = await startDashboard();
  const app = await api("/v1/wechat/apps", {
    method: "POST",
    body: JSON.stringify({
      app_id: DEMO_APP,
      app_secret: "5a4db0c5a4db0c5a4db0c5a4db0c5a4d",
      token: "relaybox",
      encoding_aes_key: "5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5",
      mode: "safe",
      api_base_url: `${dash.url}/sandbox/wechat`,
    }),
  });
  assert.equal(app.status, 201, await app.text());
  const desk = await api("/v1/tenant", {
    method: "PATCH",
    body: JSON.stringify({
      desk: { enabled: true, working_hours: always, after_hours_answer: "已下班，明早回复您" },
    }),
  });
  assert.equal(desk.status, 200, await desk.text());
});
after(async () => {
  await dash?.stop();
});

async function onlineAgent(user, { viewport = LAPTOP, locale = "en-US" } = {}) {
  const page = await dash.newPage({ viewport, locale });
  await dash.signIn(page, user);
  await page.goto("/dashboard/desk");
  await page.selectOption("#desk-status", "online");
  await page.click(".desk-status button[type=submit]");
  await page.waitForURL(/\/dashboard\/desk/);
  await page.waitForFunction(() => document.body.dataset.deskLive === "open");
  return page;
}

/** Waits until one of the pages shows a conversation of mine (live), and returns that page. */
async function whoGets(pages, text) {
  const found = await Promise.race(
    pages.map((page) =>
      page
        .locator('[data-list="mine"] .desk-who', { hasText: text })
        .first()
        .waitFor({ timeout: 15_000 })
        .then(() => page),
    ),
  );
  return found;
}

test("two agents each take one conversation live, reply through its channel and resolve", async () => {
  const [a, b] = [await agent("agent.a@example.com"), await agent("agent.b@example.com")];
  const pageA = await onlineAgent(a);
  const pageB = await onlineAgent(b, { viewport: PHONE, locale: "zh-CN" });

  await smsIn("+8613800138001", "人工");
  const smsPage = await whoGets([pageA, pageB], "+8613800138001");
  const wechat = await api(
    `/v1/sandbox/wechat/${DEMO_APP}/messages`,
    {
      method: "POST",
      body: JSON.stringify({ openid: "oSandboxFollower000000000001", text: "人工" }),
    },
    dash.server.credentials.apiKey,
  );
  assert.equal(wechat.status, 200, await wechat.text());
  const wechatPage = await whoGets([pageA, pageB], "oSandboxFollower000000000001");
  assert.notEqual(smsPage, wechatPage, "one conversation each");

  // Screenshots of the workspace with its conversation open.
  await wechatPage
    .locator('[data-list="mine"] a', { hasText: "oSandboxFollower000000000001" })
    .click();
  await smsPage.locator('[data-list="mine"] a', { hasText: "+8613800138001" }).click();
  assert.match(await wechatPage.locator(".desk-channel").textContent(), /48|WeChat|微信/);
  await wechatPage.locator("time.countdown").waitFor();
  for (const page of [pageA, pageB]) {
    const wide = page === pageA;
    await dash.screenshot(page, `desk-${wide ? "en-1280" : "zh-390"}`);
  }

  // Each replies through the channel the page offers, then resolves.
  await smsPage.fill("#desk-body", "您好，我来帮您处理");
  await smsPage.click(".desk-reply button[type=submit]");
  await smsPage.locator(".flash.ok").waitFor();
  await wechatPage.fill("#desk-body", "您好，微信客服为您服务");
  await wechatPage.click(".desk-reply button[type=submit]");
  await wechatPage.locator(".flash.ok").waitFor();
  // The send log has each reply a moment after the 202 (the dispatcher's next alarm).
  const channels = await eventually(async () => {
    const sent = await (await api("/v1/messages?limit=20")).json();
    const seen = new Map(sent.data.map((m) => [m.to ?? m.openid, m.channel]));
    return seen.has("+8613800138001") && [...seen.values()].includes("wechat") && seen;
  }, "an SMS and a WeChat reply in the send log");
  assert.equal(channels.get("+8613800138001"), "sms");

  for (const page of [smsPage, wechatPage]) {
    await page.locator("details.confirm summary").click();
    await page.locator("details.confirm button[type=submit]").click();
    await page.locator(".flash.ok").waitFor();
    assert.equal(await page.locator('[data-list="mine"] li').count(), 0);
  }
  // The agents sign off: the night's message below is for no one.
  for (const page of [pageA, pageB]) {
    await page.selectOption("#desk-status", "offline");
    await page.click(".desk-status button[type=submit]");
    await page.locator(".flash.ok").waitFor();
    await page.context().close();
  }
});

test("a message at night becomes a left message with its automatic answer", async () => {
  const night = await api("/v1/tenant", {
    method: "PATCH",
    body: JSON.stringify({ desk: { working_hours: never } }),
  });
  assert.equal(night.status, 200);
  // wrangler dev runs one isolate, and the PATCH dropped its cached desk settings: the inbound hook
  // sees the new hours at once (in production other isolates see them within 5 seconds).
  const page = await dash.newPage({ viewport: LAPTOP, locale: "zh-CN" });
  await dash.signIn(page);
  await page.goto("/dashboard/desk");
  await page.waitForFunction(() => document.body.dataset.deskLive === "open");
  await smsIn("+8613800138009", "人工");
  const item = page.locator('[data-list="queue"] li', { hasText: "+8613800138009" });
  await item.waitFor({ timeout: 15_000 });
  assert.match(await item.textContent(), /留言/);
  await eventually(async () => {
    const list = await (await api("/v1/messages?limit=20")).json();
    return list.data.some((m) => m.to === "+8613800138009" && /已下班/.test(m.body));
  }, "the after-hours answer in the send log");
  await dash.screenshot(page, "desk-zh-1280");
  await page.setViewportSize(PHONE);
  await page.goto("/dashboard/lang/en?back=/dashboard/desk");
  await dash.screenshot(page, "desk-en-390");
  assert.deepEqual(dash.errors, []);
});
