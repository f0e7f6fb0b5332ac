import { describe, expect, it } from "vitest";
import { createTenant, messageReaches, postJson } from "../support/tenants";

describe("POST /v1/messages (happy)", () => {
  it("accepts a message, answers 202 with its segments, and delivers it through the sandbox", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson({ to: "13800138000", body: "Hello" }));
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Record<string, unknown>;
    // To a Chinese number the signature 【Relaybox】 is prefixed, and its brackets need UCS-2.
    expect(accepted).toMatchObject({
      status: "queued",
      to: "+8613800138000",
      segments: 1,
      encoding: "UCS-2",
      cost: 0.0065,
      currency: "USD",
    });
    expect(accepted.send_at).toBe(accepted.created_at);
    expect(String(accepted.id)).toMatch(/^msg_[0-9A-Z]{26}$/);
    expect(res.headers.get("x-request-id")).toBeTruthy();

    const delivered = await messageReaches(tenant, String(accepted.id), "delivered");
    expect(delivered).toMatchObject({ provider: "sandbox", status_reason: null });
    expect(delivered.attempts).toEqual([
      expect.objectContaining({ attempt: 1, provider: "sandbox", outcome: "sent" }),
    ]);
    expect(delivered.sent_at).toBeTruthy();
    expect(delivered.completed_at).toBeTruthy();
  });

  it("counts UCS-2 segments for Chinese text", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138001", body: "你好".repeat(36) }),
    );
    expect(await res.json()).toMatchObject({ segments: 2, encoding: "UCS-2" });
  });

  it("replays the first answer for a repeated Idempotency-Key and sends once", async () => {
    const tenant = await createTenant();
    const send = () =>
      tenant.api(
        "/v1/messages",
        postJson({ to: "+8613800138002", body: "once" }, { "idempotency-key": "order-42" }),
      );
    const first = await send();
    const second = await send();
    expect(second.status).toBe(202);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const a = (await first.json()) as { id: string };
    const b = (await second.json()) as { id: string };
    expect(b).toEqual(a);
    await messageReaches(tenant, a.id, "delivered");
    const list = (await (await tenant.api("/v1/messages?to=%2B8613800138002")).json()) as {
      data: unknown[];
    };
    expect(list.data).toHaveLength(1);
  });

  it("ends the sandbox's special numbers as documented", async () => {
    const tenant = await createTenant();
    const send = async (to: string) => {
      const res = await tenant.api("/v1/messages", postJson({ to, body: "special" }));
      return ((await res.json()) as { id: string }).id;
    };
    const [rejected, flaky, silent] = await Promise.all([
      send("+8613800130000"),
      send("+8613800130001"),
      send("+8613800130002"),
    ]);

    const failed = await messageReaches(tenant, rejected, "failed");
    expect(failed.status_reason).toContain("0000");
    expect(failed.attempts).toHaveLength(1);

    const retried = await messageReaches(tenant, flaky, "delivered");
    expect((retried.attempts as { outcome: string }[]).map((a) => a.outcome)).toEqual([
      "retryable",
      "retryable",
      "sent",
    ]);

    const expired = await messageReaches(tenant, silent, "expired");
    expect(expired.status_reason).toContain("no delivery receipt");
  });

  it("sends one recipient's messages in the order they were accepted", async () => {
    const tenant = await createTenant();
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) {
      const res = await tenant.api(
        "/v1/messages",
        postJson({ to: "+8613800138020", body: `step ${n}` }),
      );
      ids.push(((await res.json()) as { id: string }).id);
    }
    const sentAt: number[] = [];
    for (const id of ids) {
      const message = await messageReaches(tenant, id, "delivered");
      sentAt.push(Date.parse(String(message.sent_at)));
    }
    expect([...sentAt].sort((a, b) => a - b)).toEqual(sentAt);
  });

  it("lists messages newest first with filters and a cursor", async () => {
    const tenant = await createTenant();
    const ids: string[] = [];
    for (const to of ["+8613800138010", "+8613800138011", "+8613800138010"]) {
      const res = await tenant.api("/v1/messages", postJson({ to, body: "list me" }));
      ids.push(((await res.json()) as { id: string }).id);
    }
    await messageReaches(tenant, ids[2] ?? "", "delivered");
    await messageReaches(tenant, ids[0] ?? "", "delivered");

    const page1 = (await (await tenant.api("/v1/messages?limit=2")).json()) as {
      data: { id: string }[];
      next_cursor: string | null;
    };
    expect(page1.data.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    expect(page1.next_cursor).toBe(ids[1]);
    const page2 = (await (
      await tenant.api(`/v1/messages?limit=2&cursor=${page1.next_cursor}`)
    ).json()) as { data: { id: string }[]; next_cursor: string | null };
    expect(page2.data.map((m) => m.id)).toEqual([ids[0]]);
    expect(page2.next_cursor).toBeNull();

    const byRecipient = (await (await tenant.api("/v1/messages?to=13800138010")).json()) as {
      data: { id: string }[];
    };
    expect(byRecipient.data.map((m) => m.id)).toEqual([ids[2], ids[0]]);
    // `+` left unencoded in a query string arrives as a space: still the same number.
    const unencoded = (await (await tenant.api("/v1/messages?to=+8613800138010")).json()) as {
      data: { id: string }[];
    };
    expect(unencoded.data.map((m) => m.id)).toEqual([ids[2], ids[0]]);
    const delivered = (await (await tenant.api("/v1/messages?status=delivered")).json()) as {
      data: { status: string }[];
    };
    expect(delivered.data.every((m) => m.status === "delivered")).toBe(true);
    const future = new Date(Date.now() + 60_000).toISOString();
    const none = (await (await tenant.api(`/v1/messages?since=${future}`)).json()) as {
      data: unknown[];
    };
    expect(none.data).toEqual([]);
  });
});
