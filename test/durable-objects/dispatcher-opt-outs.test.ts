/** The dispatcher's copy of the tenant's opted-out numbers, checked in the call that accepts. */
import { describe, expect, it } from "vitest";
import { acceptRequest, isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage } from "../support/messages";

describe("the dispatcher and opted-out numbers", () => {
  it("refuses an SMS to an opted-out number, storing nothing, and takes it again after the opt-in", async () => {
    const { tenant, stub, sql } = await isolatedDispatcher();
    const phone = "+8613800138601";
    await stub.setOptOut({ tenantId: tenant.id, phone, optedOut: true });

    const refused = await stub.accept(acceptRequest(outboxMessage(tenant.id, phone), "k1", "h", 0));
    expect(refused).toEqual({ kind: "opted-out" });
    expect(await sql("SELECT id FROM outbox")).toEqual([]);
    // A refusal is not remembered under the key: the same key is free once the number opts in.
    await stub.setOptOut({ tenantId: tenant.id, phone, optedOut: false });
    const accepted = await stub.accept(
      acceptRequest(outboxMessage(tenant.id, phone), "k1", "h", 0),
    );
    expect(accepted).toMatchObject({ kind: "accepted" });
  });

  it("lets an exempt request through, and does not check WeChat recipients", async () => {
    const { tenant, stub } = await isolatedDispatcher();
    const phone = "+8613800138602";
    await stub.setOptOut({ tenantId: tenant.id, phone, optedOut: true });
    const exempt = {
      ...acceptRequest(outboxMessage(tenant.id, phone), undefined, "h", 0),
      optOutExempt: true,
    };
    expect(await stub.accept(exempt)).toMatchObject({ kind: "accepted" });
    await stub.setOptOut({ tenantId: tenant.id, phone: "oOpenId1", optedOut: true });
    const wechat = outboxMessage(tenant.id, "oOpenId1", { channel: "wechat" });
    expect(await stub.accept(acceptRequest(wechat, undefined, "h", 0))).toMatchObject({
      kind: "accepted",
    });
  });

  it("leaves a batch part's opted-out recipients unstaged and names them, unless exempt", async () => {
    const { tenant, stub, sql } = await isolatedDispatcher();
    await stub.setOptOut({ tenantId: tenant.id, phone: "+8613800138603", optedOut: true });
    const batchId = "bat_01TESTOPTOUTS0000000000000";
    const messages = ["+8613800138603", "+8613800138604", "+8613800138603"].map((to) =>
      outboxMessage(tenant.id, to, { batchId, lane: "bulk" }),
    );
    const staged = await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(staged).toEqual({
      staged: 1,
      optedOut: [messages[0]?.id, messages[2]?.id],
    });
    expect(await sql("SELECT recipient FROM outbox")).toEqual([{ recipient: "+8613800138604" }]);

    const exempt = ["+8613800138603"].map((to) =>
      outboxMessage(tenant.id, to, { batchId: "bat_01TESTOPTOUTS0000000000001", lane: "bulk" }),
    );
    expect(
      await stub.stageBatch({ tenantId: tenant.id, messages: exempt, optOutExempt: true }),
    ).toEqual({ staged: 1, optedOut: [] });
  });
});
