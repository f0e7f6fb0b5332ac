import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import { expectProblem } from "../support/problem";
import { call, createTenant, messageReaches, postJson } from "../support/tenants";

const patch = (body: unknown) => ({ method: "PATCH", body: JSON.stringify(body) });

describe("GET and PATCH /v1/tenant", () => {
  it("shows the account's settings", async () => {
    const tenant = await createTenant({ sendRate: 30 });
    const res = await tenant.api("/v1/tenant");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      id: tenant.id,
      home_country: "CN",
      allowed_countries: ["CN", "US", "GB"],
      send_rate: 30,
      signature: "【Relaybox】",
    });
  });

  it("pauses sending at rate 0 and resumes when the rate is raised", async () => {
    const tenant = await createTenant();
    const paused = await tenant.api("/v1/tenant", patch({ send_rate: 0 }));
    expect(paused.status).toBe(200);
    expect(await paused.json()).toMatchObject({ send_rate: 0 });

    const sent = await tenant.api("/v1/messages", postJson({ to: "13800138500", body: "wait" }));
    const { id } = (await sent.json()) as { id: string };
    await new Promise((resolve) => setTimeout(resolve, 500));
    const waiting = (await (await tenant.api(`/v1/messages/${id}`)).json()) as { status: string };
    expect(waiting.status).toBe("queued");

    await tenant.api("/v1/tenant", patch({ send_rate: 100 }));
    await messageReaches(tenant, id, "delivered");
  });

  it("hands new quiet hours to the dispatcher at once, as it does the send rate", async () => {
    const tenant = await createTenant();
    const quietHours = { start: "22:00", end: "07:30" };
    const res = await tenant.api("/v1/tenant", patch({ quiet_hours: quietHours }));
    expect(res.status).toBe(200);
    const stored = await runInDurableObject(dispatcherOf(env, tenant.id), (_instance, state) =>
      state.storage.sql
        .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'quiet_hours'")
        .toArray(),
    );
    expect(stored.map((row) => JSON.parse(row.value))).toEqual([quietHours]);
  });

  it("changes where the account may send", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/tenant", patch({ allowed_countries: ["CN", "CN", "GB"] }));
    expect(await res.json()).toMatchObject({ allowed_countries: ["CN", "GB"] });
  });

  it.each([
    [{ send_rate: -1 }, ["/send_rate"]],
    [{ send_rate: 10_001 }, ["/send_rate"]],
    [{ send_rate: 1.5 }, ["/send_rate"]],
    [{ home_country: "XX" }, ["/home_country"]],
    [{ allowed_countries: [] }, ["/allowed_countries"]],
    [{ allowed_countries: ["cn"] }, ["/allowed_countries/0"]],
    [{ plan: "gold" }, ["/plan"]],
  ])("refuses %j with 400 pointing at the field", async (body, pointers) => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/tenant", patch(body));
    await expectProblem(res, {
      status: 400,
      slug: "validation-error",
      instance: "/v1/tenant",
      pointers,
    });
    const after = (await (await tenant.api("/v1/tenant")).json()) as { send_rate: number };
    expect(after.send_rate).toBe(50);
  });

  it("refuses an empty change with 400", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/tenant", patch({}));
    await expectProblem(res, { status: 400, slug: "validation-error", instance: "/v1/tenant" });
  });

  it("needs the admin scope", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["messages:send", "messages:read"]);
    for (const init of [{}, patch({ send_rate: 1 })]) {
      const res = await call("/v1/tenant", key, init);
      await expectProblem(res, { status: 403, slug: "forbidden", instance: "/v1/tenant" });
    }
  });
});
