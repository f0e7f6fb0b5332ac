import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage } from "../support/messages";
import { runScriptedTraffic, scriptedMessages } from "../support/stats-traffic";
import { call, createTenant, eventually, type TestTenant } from "../support/tenants";

async function statsOf(tenant: TestTenant, query: string) {
  const res = await tenant.api(`/v1/stats?${query}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Record<string, unknown>[] }).data;
}

/** Logs one live message accepted at each instant. */
async function acceptedAt(tenant: TestTenant, instants: string[]) {
  await logMessages(
    env.DB,
    instants.map((at, i) =>
      outboxMessage(tenant.id, `+8613800${String(100000 + i)}`, {
        mode: "live",
        country: "CN",
        createdAt: Date.parse(at),
        sendAt: Date.parse(at),
      }),
    ),
  );
}

const perPeriod = (rows: Record<string, unknown>[], field: "day" | "hour") =>
  Object.fromEntries(rows.map((r) => [r[field], r.messages]));

describe("GET /v1/stats time zones", () => {
  it("cuts days at local midnight in Asia/Shanghai (+8) and Asia/Kolkata (+5:30)", async () => {
    const tenant = await createTenant();
    await acceptedAt(tenant, [
      "2026-03-06T15:59:00Z", // 23:59 in Shanghai, 21:29 in Kolkata
      "2026-03-06T16:00:00Z", // 00:00 on the 7th in Shanghai
      "2026-03-06T18:29:00Z", // 23:59 in Kolkata
      "2026-03-06T18:30:00Z", // 00:00 on the 7th in Kolkata
    ]);
    const range = "from=2026-03-06&to=2026-03-07&group_by=day";
    expect(perPeriod(await statsOf(tenant, `${range}&tz=Asia/Shanghai`), "day")).toEqual({
      "2026-03-06": 1,
      "2026-03-07": 3,
    });
    expect(perPeriod(await statsOf(tenant, `${range}&tz=Asia/Kolkata`), "day")).toEqual({
      "2026-03-06": 3,
      "2026-03-07": 1,
    });
    expect(perPeriod(await statsOf(tenant, `${range}&tz=UTC`), "day")).toEqual({
      "2026-03-06": 4,
    });
    // Only the 7th in Kolkata: from its local midnight (18:30Z on the 6th).
    expect(
      perPeriod(await statsOf(tenant, "from=2026-03-07&to=2026-03-07&tz=Asia/Kolkata"), "day"),
    ).toEqual({ "2026-03-07": 1 });
  });

  it("keeps New York's days and hours right across the spring-forward change (a 23-hour day)", async () => {
    const tenant = await createTenant();
    await acceptedAt(tenant, [
      "2026-03-08T04:59:00Z", // 23:59 EST on the 7th
      "2026-03-08T05:00:00Z", // 00:00 EST on the 8th
      "2026-03-08T06:59:00Z", // 01:59 EST
      "2026-03-08T07:00:00Z", // 03:00 EDT: 02:00 never happened
      "2026-03-09T03:59:00Z", // 23:59 EDT on the 8th
      "2026-03-09T04:00:00Z", // 00:00 EDT on the 9th
    ]);
    const tz = "tz=America/New_York";
    expect(
      perPeriod(await statsOf(tenant, `from=2026-03-07&to=2026-03-09&${tz}&group_by=day`), "day"),
    ).toEqual({ "2026-03-07": 1, "2026-03-08": 4, "2026-03-09": 1 });
    const hours = perPeriod(
      await statsOf(tenant, `from=2026-03-08&to=2026-03-08&${tz}&group_by=hour`),
      "hour",
    );
    expect(hours).toEqual({
      "2026-03-08T00:00-05:00": 1,
      "2026-03-08T01:00-05:00": 1,
      "2026-03-08T03:00-04:00": 1,
      "2026-03-08T23:00-04:00": 1,
    });
  });

  it("takes instants on 15-minute boundaries as the range", async () => {
    const tenant = await createTenant();
    await acceptedAt(tenant, ["2026-03-06T10:14:59Z", "2026-03-06T10:15:00Z"]);
    const data = await statsOf(
      tenant,
      "from=2026-03-06T10:15:00Z&to=2026-03-06T10:30:00Z&group_by=channel",
    );
    expect(data.map((r) => [r.channel, r.messages])).toEqual([["sms", 1]]);
  });
});

describe("GET /v1/stats counters and errors", () => {
  it("counts an inbound message once though its hook is retried", async () => {
    const tenant = await createTenant();
    const message = { from: "138 0013 8000", body: "Hello", message_id: "stats-in-1" };
    for (let i = 0; i < 2; i++) {
      const res = await call(`/hooks/sms/sandbox/${tenant.hookToken}/inbound`, null, {
        method: "POST",
        body: JSON.stringify(message),
      });
      expect(res.status).toBe(202);
    }
    const today = new Date().toISOString().slice(0, 10);
    const data = await eventually(async () => {
      const rows = await statsOf(tenant, `from=${today}&to=${today}&group_by=channel,provider`);
      return rows.length > 0 ? rows : undefined;
    });
    expect(data).toEqual([
      expect.objectContaining({ channel: "sms", provider: "sandbox", inbound: 1, messages: 0 }),
    ]);
    // Inbound messages have no country: grouped by it, the count is unknown, not zero.
    const byCountry = await statsOf(tenant, `from=${today}&to=${today}&group_by=country`);
    expect(byCountry.every((r) => r.inbound === null)).toBe(true);
  });

  it("counts verification sends, checks and approvals, and opt-outs, where they are written", async () => {
    const tenant = await createTenant();
    const testKey = (await tenant.addKey(["verifications:write", "stats:read"], "test")).key;
    const started = await call("/v1/verifications", testKey, {
      method: "POST",
      body: JSON.stringify({ to: "+14155550177" }),
    });
    expect(started.status).toBe(201);
    const { sandbox_code: code } = (await started.json()) as { sandbox_code: string };
    const wrong = code === "000000" ? "111111" : "000000";
    for (const attempt of [wrong, code, code]) {
      await call("/v1/verifications/check", testKey, {
        method: "POST",
        body: JSON.stringify({ to: "+14155550177", code: attempt }),
      });
    }
    for (let i = 0; i < 2; i++) {
      const stop = await call(`/hooks/sms/sandbox/${tenant.hookToken}/inbound`, null, {
        method: "POST",
        body: JSON.stringify({ from: "138 0013 8001", body: "STOP", message_id: "stats-stop" }),
      });
      expect(stop.status).toBe(202);
    }
    const today = new Date().toISOString().slice(0, 10);
    const totals = async () => {
      const rows = await statsOf(tenant, `from=${today}&to=${today}&group_by=day`);
      const sum = (k: string) => rows.reduce((n, r) => n + ((r[k] as number) ?? 0), 0);
      return {
        inbound: sum("inbound"),
        opt_outs: sum("opt_outs"),
        verification_sends: sum("verification_sends"),
        verification_checks: sum("verification_checks"),
        verification_approvals: sum("verification_approvals"),
      };
    };
    // The third check finds the verification approved already: it checks nothing.
    await eventually(async () => ((await totals()).opt_outs === 1 ? true : undefined));
    expect(await totals()).toEqual({
      inbound: 1,
      opt_outs: 1,
      verification_sends: 1,
      verification_checks: 2,
      verification_approvals: 1,
    });
  });

  it("lists the top failure reasons by provider and country, as the send log has them", async () => {
    const tenant = await createTenant();
    await runScriptedTraffic(
      tenant.id,
      scriptedMessages(tenant.id, 48, Date.parse("2026-03-06T00:07:00Z"), 2.5 * 3_600_000),
    );
    const res = await tenant.api("/v1/stats/errors?from=2026-03-01&to=2026-03-31&limit=100");
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Record<string, unknown>[] };
    const { results } = await env.DB.prepare(
      `SELECT NULLIF(COALESCE(provider, ''), '') AS provider, country, status, status_reason AS reason,
         COUNT(*) AS count FROM messages
       WHERE tenant_id = ? AND status IN ('failed', 'undelivered', 'expired')
       GROUP BY 1, 2, 3, 4 ORDER BY count DESC, 1, 2, 3, 4`,
    )
      .bind(tenant.id)
      .all();
    expect(data).toEqual(results);
    expect(data.length).toBeGreaterThan(3);
    const top = await tenant.api("/v1/stats/errors?from=2026-03-01&to=2026-03-31&limit=1");
    expect(((await top.json()) as { data: unknown[] }).data).toEqual([results[0]]);
  });

  it("exports the rows as CSV with formula-like cells defused", async () => {
    const tenant = await createTenant();
    await logMessages(env.DB, [
      outboxMessage(tenant.id, "+8613800138001", {
        mode: "live",
        country: "CN",
        templateId: '=HYPERLINK("http://x")',
        createdAt: Date.parse("2026-03-06T01:00:00Z"),
      }),
    ]);
    const res = await tenant.api(
      "/v1/stats/export?format=csv&from=2026-03-06&to=2026-03-06&group_by=day,template&bom=true",
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    // Read as bytes: text() drops a BOM, as the Encoding standard's UTF-8 decode does.
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = new TextDecoder("utf-8", { ignoreBOM: true, fatal: false }).decode(bytes.slice(3));
    expect(text.startsWith("day,template,messages,sent,")).toBe(true);
    const [, row] = text.split("\r\n");
    expect(row).toBe(`2026-03-06,"'=HYPERLINK(""http://x"")",1,0,0,0,0,0,0,,1,0.0065,USD,,,,,,,`);
  });
});
