/**
 * Web chat end to end in a real browser: a test page on another origin (a tiny node http server)
 * embeds the widget; the visitor says 人工; an online agent sees it live in the workspace, answers,
 * and the visitor sees the answer; the agent resolves; an inspector scores the conversation; the
 * reports page shows it with its response times, its tables inside their cards at 1280 and 390 px.
 * Screenshots in en and zh, at 390 px too.
 */
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { LAPTOP, overflowsOf, PHONE, startDashboard } from "./harness.mjs";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const always = Object.fromEntries(DAYS.map((d) => [d, [{ start: "00:00", end: "24:00" }]]));
const PASSWORD = "webchat-user-password-1";

let dash;
let site;
let siteOrigin;
const api = (path, init = {}) =>
  fetch(`${dash.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${dash.server.credentials.liveApiKey}`,
      "content-type": "application/json",
    },
  });

async function user(email, role) {
  const res = await api("/v1/users", { method: "POST", body: JSON.stringify({ email, role }) });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const page = await dash.newPage();
  await page.goto(JSON.parse(text).invitation_url);
  await page.fill('input[name="password"]', PASSWORD);
  await page.click('button[type="submit"]');
  await page.context().close();
  return { email, password: PASSWORD };
}

before(async () => {
  dash = await startDashboard();
  const desk = await api("/v1/tenant", {
    method: "PATCH",
    body: JSON.stringify({ desk: { enabled: true, working_hours: always } }),
  });
  assert.equal(desk.status, 200, await desk.text());
  site = createServer((_req, res) => res.end(page));
  await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
  siteOrigin = `http://127.0.0.1:${site.address().port}`;
  const key = await api("/v1/desk/widget-keys", {
    method: "POST",
    body: JSON.stringify({ name: "Shop", allowed_origins: [siteOrigin] }),
  });
  const keyText = await key.text();
  assert.equal(key.status, 201, keyText);
  page = `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head><body>
<h1>Shop</h1><script src="${dash.url}/webchat.js" data-key="${JSON.parse(keyText).id}" async></script>
</body></html>`;
});
let page = "";
after(async () => {
  site?.close();
  await dash?.stop();
});

test("a visitor chats through the widget, an agent answers live, an inspector scores it, the report shows it", async () => {
  const agentUser = await user("webchat.agent@example.com", "agent");
  const inspectorUser = await user("webchat.inspector@example.com", "inspector");

  const agent = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(agent, agentUser);
  await agent.goto("/dashboard/desk");
  await agent.selectOption("#desk-status", "online");
  await agent.click(".desk-status button[type=submit]");
  await agent.waitForURL(/\/dashboard\/desk/);
  await agent.waitForFunction(() => document.body.dataset.deskLive === "open");

  const visitor = await dash.newPage({ viewport: PHONE });
  await visitor.goto(siteOrigin);
  await visitor.locator("[data-relaybox-webchat] button[type=button]").click();
  await visitor.fill('[data-relaybox-webchat] input[aria-label="Message"]', "人工");
  await visitor.click("[data-relaybox-webchat] button[type=submit]");

  const mine = agent.locator('[data-list="mine"] li a').first();
  await mine.waitFor({ timeout: 15_000 });
  await mine.click();
  // The thread names its channel, and the reply goes to the widget, not by SMS.
  assert.match(await agent.locator(".desk-thread-head h2").textContent(), /^Web chat · visitor:/);
  assert.match(await agent.locator(".desk-channel").textContent(), /visitor's chat window/);
  assert.equal(
    (await agent.locator(".desk-reply button[type=submit]").textContent())?.trim(),
    "Send to the chat",
  );
  await agent.fill("#desk-body", "Hello from the desk");
  await agent.click(".desk-reply button[type=submit]");
  await agent.locator(".flash.ok").waitFor();
  await visitor
    .locator('[data-relaybox-webchat] [data-from="agent"]', { hasText: "Hello from the desk" })
    .waitFor({ timeout: 15_000 });
  await dash.screenshot(visitor, "webchat-visitor-390");
  await agent.locator("details.confirm summary").click();
  await agent.locator("details.confirm button[type=submit]").click();
  await agent.locator(".flash.ok").waitFor();

  const resolved = await (await api("/v1/conversations?desk_state=resolved")).json();
  const conversation = resolved.data.find((c) => c.channel === "webchat");
  assert.ok(conversation, JSON.stringify(resolved.data));

  const checklist = await api("/v1/desk/checklists", {
    method: "POST",
    body: JSON.stringify({
      name: "Basics",
      items: [
        { label: "Greets", points: 10 },
        { label: "Solves", points: 30 },
      ],
    }),
  });
  assert.equal(checklist.status, 201, await checklist.text());

  const inspector = await dash.newPage({ viewport: LAPTOP, locale: "zh-CN" });
  await dash.signIn(inspector, inspectorUser);
  await inspector.goto("/dashboard/desk/inspection");
  await inspector.locator(`a[href="/dashboard/desk/inspection/${conversation.id}"]`).click();
  // The thread shows both sides: the visitor's 人工 and the agent's answer.
  await inspector.locator(".thread li", { hasText: "Hello from the desk" }).waitFor();
  await inspector.locator(".thread li", { hasText: "人工" }).waitFor();
  const points = inspector.locator('input[type="number"]');
  assert.equal(await points.count(), 2);
  await points.nth(0).fill("9");
  await inspector.fill("#field-comment", "礼貌");
  await dash.screenshot(inspector, "inspection-zh-1280");
  await inspector.locator('form[method="post"] button.primary').click();
  await inspector.locator(".flash.ok").waitFor();

  const analyst = await dash.newPage({ viewport: LAPTOP });
  await dash.signIn(analyst);
  await analyst.goto("/dashboard/desk/reports");
  const row = analyst.locator("tr", { hasText: agentUser.email });
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, /\d+(\.\d)? s \/ \d+(\.\d)? s/);
  assert.match(text, /97\.5% \(1\)/);
  // At 1280 px both seven-column tables fit their cards, the inspection column included.
  assert.deepEqual(await overflowsOf(analyst, { fit: true }), []);
  await dash.screenshot(analyst, "desk-reports-en-1280");
  // On a phone they cannot: each scrolls inside its card, to its last column, and the page does not.
  const phone = await dash.newPage({ viewport: PHONE, locale: "zh-CN" });
  await dash.signIn(phone);
  await phone.goto("/dashboard/desk/reports");
  await phone.locator("tr", { hasText: agentUser.email }).waitFor();
  assert.equal((await overflowsOf(phone)).length, 0, (await overflowsOf(phone)).join("\n"));
  const agentTable = phone.locator(".card .table-scroll").last();
  assert.ok(await agentTable.evaluate((box) => box.scrollWidth > box.clientWidth));
  await dash.screenshot(phone, "desk-reports-zh-390");
  await agentTable.evaluate((box) => {
    box.scrollLeft = box.scrollWidth;
  });
  const inspection = await agentTable.locator("th", { hasText: "质检得分" }).boundingBox();
  assert.ok(inspection.x >= 0 && inspection.x + inspection.width <= PHONE.width, inspection);
  await dash.screenshot(phone, "desk-reports-zh-390-scrolled");
  assert.deepEqual(dash.errors, []);
});
