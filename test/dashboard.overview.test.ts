import { describe, expect, it } from "vitest";
import type { ChartData } from "../src/dashboard/components";
import { signedIn } from "./support/dashboard";
import { call, createTenant, messageReaches, postJson } from "./support/tenants";
import { flushVerifications } from "./support/verifications";

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

/** The first chart's JSON on a page. */
function chartOf(html: string): ChartData {
  const raw = /data-chart="([^"]*)"/.exec(html)?.[1];
  expect(raw).toBeDefined();
  return JSON.parse(unescapeHtml(raw ?? "")) as ChartData;
}

describe("dashboard overview", () => {
  it("is the home of a role that reads statistics, with today's sends in the figures and chart", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "analyst");
    const ids: string[] = [];
    for (const to of ["13800138501", "13800138502", "13800138503"]) {
      const res = await tenant.api("/v1/messages", postJson({ to, body: "overview" }));
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    for (const id of ids) {
      await messageReaches(tenant, id, "delivered");
    }
    const home = await page("/dashboard", cookie);
    expect(home.status).toBe(200);
    expect(home.html).toContain('<h1 class="page-title">Overview</h1>');
    const chart = chartOf(home.html);
    expect(chart.x).toHaveLength(30);
    const sms = chart.series.find((s) => s.label === "SMS");
    expect(sms?.values.at(-1)).toBe(3);
    expect(sms?.values.slice(0, -1).every((v) => v === 0)).toBe(true);
    // Today's card: 3 sent, all delivered.
    const today = /aria-label="Today">([\s\S]*?)<\/section>/.exec(home.html)?.[1] ?? "";
    expect(today).toMatch(/<dt>Sent<\/dt><dd>3<\/dd>/);
    expect(today).toMatch(/<dt>Delivery rate<\/dt><dd>100%<\/dd>/);
    expect(today).toMatch(/<dt>Failed<\/dt><dd>0<\/dd>/);
    // The same numbers as GET /v1/stats.
    const api = (await (await tenant.api("/v1/stats?group_by=provider")).json()) as {
      data: { provider: string; messages: number }[];
    };
    const provider = api.data[0]?.provider ?? "";
    expect(provider).not.toBe("");
    expect(home.html).toContain(
      `<td class="mono">${provider}</td><td>3</td><td>3</td><td>100%</td>`,
    );
    expect(home.html).toContain("Provider health · last hour");
    expect(home.html).toContain("no monthly budget is set");
    const same = await page("/dashboard/overview?days=30", cookie);
    expect(same.status).toBe(200);
    expect(same.html).toContain("Delivery rate by country · Last 30 days");
  });

  it("leaves other roles on the messages list and refuses them the overview", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "reviewer");
    const home = await page("/dashboard", cookie);
    expect(home.status).toBe(200);
    expect(home.html).toContain('<h1 class="page-title">Messages</h1>');
    expect(home.html).not.toContain('href="/dashboard/overview"');
    expect((await page("/dashboard/overview", cookie)).status).toBe(403);
  });

  it("shows the budget used against the monthly limit", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ budget: { monthly_limit: 50 } }),
    });
    expect(res.status).toBe(200);
    const { cookie } = await signedIn(tenant, "admin");
    const home = await page("/dashboard/overview", cookie);
    expect(home.html).toMatch(/used of the monthly budget of \$50/);
    expect(home.html).toContain('<progress class="budget" max="100" value="0">');
  });
});

describe("dashboard verification page", () => {
  it("shows started, sent, approved, conversion and refusals by limit", async () => {
    const tenant = await createTenant();
    const key = (await tenant.addKey(["verifications:write"], "test")).key;
    const started = await call("/v1/verifications", key, postJson({ to: "+14155550190" }));
    expect(started.status).toBe(201);
    const { id, sandbox_code } = (await started.json()) as { id: string; sandbox_code: string };
    const checked = await call(
      "/v1/verifications/check",
      key,
      postJson({ id, code: sandbox_code }),
    );
    expect(checked.status).toBe(200);
    // The stats read D1, which has it once the tenant's limiter has flushed its outbox.
    await flushVerifications(tenant.id);
    const { cookie } = await signedIn(tenant, "operator");
    const today = new Date().toISOString().slice(0, 10);
    const res = await page(`/dashboard/verification?from=${today}&to=${today}`, cookie);
    expect(res.status).toBe(200);
    expect(res.html).toContain(
      `<td class="mono">${today}</td><td>1</td><td>1</td><td>1</td><td>100%</td><td>0</td>`,
    );
    expect(res.html).toContain("Per number, per minute");
    expect(chartOf(res.html).series.map((s) => s.values)).toEqual([[1], [1], [1]]);
  });

  it("answers a bad range with the service's error, and refuses a role without verifications", async () => {
    const tenant = await createTenant();
    const operator = await signedIn(tenant, "operator");
    const bad = await page(
      "/dashboard/verification?from=2026-05-01&to=2026-01-01",
      operator.cookie,
    );
    expect(bad.status).toBe(422);
    expect(bad.html).toContain("to: from ≤ to, at most 92 days apart");
    const malformed = await page("/dashboard/verification?from=May", operator.cookie);
    expect(malformed.status).toBe(422);
    expect(malformed.html).toContain("from: a date, YYYY-MM-DD (UTC)");
    const analyst = await signedIn(tenant, "analyst");
    expect((await page("/dashboard/verification", analyst.cookie)).status).toBe(403);
  });
});
