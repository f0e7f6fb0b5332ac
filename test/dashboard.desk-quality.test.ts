import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChartData } from "../src/dashboard/components";
import { form, signedIn } from "./support/dashboard";
import { call, createTenant, postJson, type TestTenant } from "./support/tenants";

const page = async (path: string, cookie: string) => {
  const res = await call(path, null, { headers: { cookie } });
  return { status: res.status, html: await res.text() };
};

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");

function chartOf(html: string): ChartData {
  const raw = /data-chart="([^"]*)"/.exec(html)?.[1];
  expect(raw).toBeDefined();
  return JSON.parse(unescapeHtml(raw ?? "")) as ChartData;
}

const at = (time: string) => Date.parse(`2026-12-07T${time}+08:00`);

/** A conversation handed to `agent` at 10:00, answered at 10:00:30 and resolved at 10:10. */
async function resolved(tenant: TestTenant, n: number, agent: string) {
  const id = `cnv_${String(n).padStart(26, "0")}`;
  const move = (i: number, from: string, to: string, who: string | null, time: string) =>
    env.DB.prepare(
      `INSERT INTO conversation_events (id, tenant_id, conversation_id, type, from_state, to_state, agent_id, actor, detail, at)
       VALUES (?, ?, ?, 'state', ?, ?, ?, 'system', '{}', ?)`,
    ).bind(`cev_${tenant.id}_${n}_${i}`, tenant.id, id, from, to, who, at(time));
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO conversations (id, tenant_id, channel, counterpart, last_activity_at, created_at, desk_state)
       VALUES (?, ?, 'sms', ?, ?, ?, 'resolved')`,
    ).bind(id, tenant.id, `+86138000001${n}`, at("10:00:00"), at("10:00:00")),
    move(0, "bot", "assigned", agent, "10:00:00"),
    move(1, "assigned", "pending", agent, "10:00:30"),
    move(2, "pending", "resolved", null, "10:10:00"),
  ]);
  return id;
}

describe("the desk's reports page", () => {
  it("shows per agent and per day figures, a chart and the CSV links to a role that reads stats", async () => {
    const tenant = await createTenant();
    const agent = await signedIn(tenant, "agent");
    await resolved(tenant, 1, agent.user.id);
    const { cookie } = await signedIn(tenant, "analyst");
    const { status, html } = await page(
      "/dashboard/desk/reports?from=2026-12-07&to=2026-12-07",
      cookie,
    );
    expect(status).toBe(200);
    expect(html).toContain(agent.user.email);
    expect(html).toContain("30 s / 30 s");
    expect(html).toContain("600 s / 600 s");
    expect(html).toContain("/v1/desk/reports/export?from=2026-12-06T16%3A00%3A00.000Z");
    const chart = chartOf(html);
    expect(chart.x).toEqual([Date.parse("2026-12-07T00:00:00Z") / 1000]);
    expect(chart.series.map((s) => s.values)).toEqual([[30], [600]]);
    const zh = await page(
      "/dashboard/desk/reports?from=2026-12-07&to=2026-12-07",
      `${cookie}; rbx_lang=zh`,
    );
    expect(zh.html).toContain("按客服");
  });

  it("is refused to a role without stats:read", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "agent");
    expect((await page("/dashboard/desk/reports", cookie)).status).toBe(403);
  });
});

describe("the quality inspection pages", () => {
  it("lets an inspector score a sampled conversation against an admin's checklist", async () => {
    const tenant = await createTenant();
    const agent = await signedIn(tenant, "agent");
    const admin = await signedIn(tenant, "admin");
    const made = await call(
      "/dashboard/desk/inspection/checklists",
      null,
      form(
        { csrf: admin.csrf, name: "Basics", items: "Greets | 10\nSolves the problem | 30" },
        admin.cookie,
      ),
    );
    expect(made.status).toBe(303);
    const id = await resolved(tenant, 2, agent.user.id);
    // Resolved on 2026-12-07: the queue's default is the last 7 days, so score through the form.
    const inspector = await signedIn(tenant, "inspector");
    const inspection = await page("/dashboard/desk/inspection", inspector.cookie);
    expect(inspection.status).toBe(200);
    expect(inspection.html).toContain("Greets (10) · Solves the problem (30)");
    expect(inspection.html).not.toContain('/dashboard/desk/inspection/checklists"');
    const formPage = await page(`/dashboard/desk/inspection/${id}`, inspector.cookie);
    expect(formPage.status).toBe(200);
    const checklistId =
      /name="checklist_id" value="(chk_[0-9A-Z]+)"/.exec(formPage.html)?.[1] ?? "";
    const items = [...formPage.html.matchAll(/name="(points_[^"]+)"/g)].map((m) => m[1] ?? "");
    expect(items).toHaveLength(2);
    const over = await call(
      `/dashboard/desk/inspection/${id}`,
      null,
      form(
        {
          csrf: inspector.csrf,
          checklist_id: checklistId,
          [items[0] ?? ""]: "11",
          [items[1] ?? ""]: "30",
        },
        inspector.cookie,
      ),
    );
    expect(over.status).toBe(422);
    expect(await over.text()).toContain("a whole number from 0 to 10");
    const ok = await call(
      `/dashboard/desk/inspection/${id}`,
      null,
      form(
        {
          csrf: inspector.csrf,
          checklist_id: checklistId,
          [items[0] ?? ""]: "8",
          [items[1] ?? ""]: "30",
          comment: "Polite",
        },
        inspector.cookie,
      ),
    );
    expect(ok.status).toBe(303);
    const mine = await page("/dashboard/desk/scores", agent.cookie);
    expect(mine.status).toBe(200);
    expect(mine.html).toContain("38 / 40");
    expect(mine.html).toContain("Polite");
  });

  it("refuses the inspection pages to an agent and checklist keeping to an inspector", async () => {
    const tenant = await createTenant();
    const agent = await signedIn(tenant, "agent");
    expect((await page("/dashboard/desk/inspection", agent.cookie)).status).toBe(403);
    const id = await resolved(tenant, 3, agent.user.id);
    expect((await page(`/dashboard/desk/inspection/${id}`, agent.cookie)).status).toBe(403);
    const inspector = await signedIn(tenant, "inspector");
    const refused = await call(
      "/dashboard/desk/inspection/checklists",
      null,
      form({ csrf: inspector.csrf, name: "Mine", items: "A | 1" }, inspector.cookie),
    );
    expect(refused.status).toBe(403);
    expect((await page("/dashboard/desk/scores", inspector.cookie)).status).toBe(403);
    const count = await tenant.api("/v1/desk/checklists");
    expect(((await count.json()) as { data: unknown[] }).data).toEqual([]);
    // An agent's scores page shows no one else's.
    const other = await signedIn(tenant, "agent");
    const list = await tenant.api(
      "/v1/desk/checklists",
      postJson({ name: "L", items: [{ label: "A", points: 5 }] }),
    );
    const checklist = (await list.json()) as { id: string; items: { id: string }[] };
    await tenant.api(
      `/v1/conversations/${id}/inspections`,
      postJson({
        checklist_id: checklist.id,
        items: [{ item_id: checklist.items[0]?.id, points: 4 }],
      }),
    );
    expect((await page("/dashboard/desk/scores", agent.cookie)).html).toContain("4 / 5");
    expect((await page("/dashboard/desk/scores", other.cookie)).html).not.toContain("4 / 5");
  });
});
