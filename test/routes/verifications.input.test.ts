/**
 * Issue 16's request rules: the bounds of a start (code_length 4..10, ttl_seconds 60..3600, the
 * channels) and of a check are 400 problems with a pointer that send and count nothing; a code by
 * SMS from the tenant's own approved template with a {{code}} variable, and a template without
 * one refused; the stats count each refusal under the limit that made it.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { approvedTemplate, CODE_TEMPLATE, PROMO_TEMPLATE } from "../support/templates";
import { call, createTenant, eventually, postJson } from "../support/tenants";
import { flushVerifications } from "../support/verifications";

async function problemOf(res: Response) {
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return (await res.json()) as { status: number; errors: { pointer: string }[] };
}

describe("starting a verification: bad input", () => {
  it.each([
    [{ code_length: 3 }, "/code_length"],
    [{ code_length: 11 }, "/code_length"],
    [{ ttl_seconds: 59 }, "/ttl_seconds"],
    [{ ttl_seconds: 3601 }, "/ttl_seconds"],
    [{ channel: "fax" }, "/channel"],
    [{ locale: "fr" }, "/locale"],
    [{ to: "" }, "/to"],
  ])("%j is a 400 at %s, and counts no send", async (body, pointer) => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const to = "+14155550151";
    const res = await call("/v1/verifications", key, postJson({ to, ...body }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.errors.map((e) => e.pointer)).toContain(pointer);
    // Nothing was counted: the number's minute is still free.
    expect((await call("/v1/verifications", key, postJson({ to }))).status).toBe(201);
  });

  it("takes the bounds themselves: 4 and 10 digits, 60 and 3600 seconds", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const cases = [
      { to: "+14155550152", code_length: 4, ttl_seconds: 60 },
      { to: "+14155550153", code_length: 10, ttl_seconds: 3600 },
    ];
    for (const body of cases) {
      const res = await call("/v1/verifications", key, postJson(body));
      expect(res.status).toBe(201);
      const started = (await res.json()) as { sandbox_code: string; expires_at: string };
      expect(started.sandbox_code).toMatch(new RegExp(`^\\d{${body.code_length}}$`));
      const ttl = (Date.parse(started.expires_at) - Date.now()) / 1000;
      expect(ttl).toBeGreaterThan(body.ttl_seconds - 30);
      expect(ttl).toBeLessThanOrEqual(body.ttl_seconds);
    }
  });

  it("a check needs id or to, not both, and a code", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    for (const body of [
      { code: "123456" },
      { id: "vrf_x", to: "+14155550154", code: "123456" },
      { id: "vrf_x" },
    ]) {
      const res = await call("/v1/verifications/check", key, postJson(body));
      expect(res.status).toBe(400);
      expect((await problemOf(res)).errors.length).toBeGreaterThan(0);
    }
  });
});

describe("a code by SMS from the tenant's own template", () => {
  it("sends the approved template with the code in its {{code}} variable", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant, CODE_TEMPLATE);
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const res = await call(
      "/v1/verifications",
      key,
      postJson({ to: "+14155550155", template_id: templateId, ttl_seconds: 300 }),
    );
    expect(res.status, await res.clone().text()).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await flushVerifications(tenant.id);
    // The send log has the message once the tenant's dispatcher has written it.
    const logged = await eventually(
      async () =>
        (await env.DB.prepare(
          `SELECT m.template_id, m.kind, m.metadata FROM verifications v
             JOIN messages m ON m.id = v.message_id WHERE v.id = ?`,
        )
          .bind(id)
          .first<{ template_id: string; kind: string; metadata: string }>()) ?? undefined,
    );
    expect(logged).toMatchObject({ template_id: templateId, kind: "verification" });
    expect(JSON.parse(logged?.metadata ?? "{}")).toEqual({ verification_id: id });
  });

  it("refuses a template without a {{code}} variable (422 at /template_id), counting nothing", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant, PROMO_TEMPLATE);
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const to = "+14155550156";
    const res = await call("/v1/verifications", key, postJson({ to, template_id: templateId }));
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors.map((e) => e.pointer)).toEqual(["/template_id"]);
    expect((await call("/v1/verifications", key, postJson({ to }))).status).toBe(201);
  });
});

describe("verification stats", () => {
  it.each([
    // Query parameters are pointed at as /query/<name>, whichever check refuses them.
    ["from=2026-12-08&to=2026-12-07", "/query/to"],
    ["from=2026-01-01&to=2026-12-07", "/query/to"],
    ["from=2026-13-45", "/query/from"],
    ["to=2026-02-30T", "/query/to"],
    ["to=yesterday", "/query/to"],
  ])("%s is a 400 at %s", async (query, pointer) => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const res = await call(`/v1/verifications/stats?${query}`, key);
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors.map((e) => e.pointer)).toContain(pointer);
  });

  it("count each refusal under the limit that made it", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["verifications:write"], "test");
    const to = "+14155550157";
    expect((await call("/v1/verifications", key, postJson({ to }))).status).toBe(201);
    for (let i = 0; i < 2; i++) {
      const refused = await call("/v1/verifications", key, postJson({ to }));
      expect(refused.status).toBe(429);
    }
    await flushVerifications(tenant.id);
    const today = new Date().toISOString().slice(0, 10);
    const res = await call(`/v1/verifications/stats?from=${today}&to=${today}`, key);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: [
        {
          date: today,
          started: 1,
          sent: 1,
          approved: 0,
          conversion_rate: 0,
          refusals: { number_minute: 2 },
        },
      ],
    });
  });
});
