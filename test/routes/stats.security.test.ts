import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage } from "../support/messages";
import { expectProblem } from "../support/problem";
import { call, createTenant, type TestTenant } from "../support/tenants";

const AT = Date.parse("2026-03-06T08:00:00Z");

async function logged(tenant: TestTenant, mode: "live" | "test", count: number) {
  await logMessages(
    env.DB,
    Array.from({ length: count }, (_, i) =>
      outboxMessage(tenant.id, `+86138001${String(38000 + i)}`, {
        mode,
        createdAt: AT + i,
        sendAt: AT + i,
      }),
    ),
  );
}

const total = async (res: Response) => {
  expect(res.status).toBe(200);
  const { data } = (await res.json()) as { data: { messages: number }[] };
  return data.reduce((n, r) => n + r.messages, 0);
};

const QUERY = "/v1/stats?from=2026-03-06&to=2026-03-06&group_by=status";

describe("GET /v1/stats security", () => {
  it("needs a key, and a key with stats:read", async () => {
    const tenant = await createTenant();
    await expectProblem(await call(QUERY, null), {
      status: 401,
      slug: "unauthenticated",
      instance: "/v1/stats",
    });
    const sender = await tenant.addKey(["messages:send", "messages:read"]);
    await expectProblem(await call(QUERY, sender.key), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/stats",
    });
    const analyst = await tenant.addKey(["stats:read"]);
    expect((await call(QUERY, analyst.key)).status).toBe(200);
  });

  it("counts only the caller's tenant, and only its key's mode", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await logged(tenant, "live", 3);
    await logged(tenant, "test", 2);
    await logged(other, "live", 5);
    expect(await total(await tenant.api(QUERY))).toBe(3);
    const testKey = await tenant.addKey(["stats:read"], "test");
    expect(await total(await call(QUERY, testKey.key))).toBe(2);
    expect(await total(await other.api(QUERY))).toBe(5);
    const errors = await other.api("/v1/stats/errors?from=2026-03-06&to=2026-03-06");
    expect(((await errors.json()) as { data: unknown[] }).data).toEqual([]);
  });
});
