import { describe, expect, it } from "vitest";
import { approvedTemplate } from "../support/templates";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";

interface Batch {
  id: string;
  status: string;
  accepted: number;
  rejected_count: number;
  counts: Record<string, number>;
  canceled_at: string | null;
}

async function readBatch(tenant: TestTenant, id: string): Promise<Batch> {
  const res = await tenant.api(`/v1/batches/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as Batch;
}

describe("POST /v1/batches (happy)", () => {
  it("sends a template to a CSV of recipients, reports bad rows, and completes", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant);
    const csv = [
      "to,code,minutes",
      "+8613800138100,1111,5",
      "13800138101,2222,5",
      "+8613800138102,33333333333,5",
      "not a number,4444,5",
      "+8613800138103,5555",
      "+8613800138104,6666,10",
      "",
    ].join("\n");
    const res = await tenant.api("/v1/batches", postJson({ template_id: templateId, csv }));
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as {
      id: string;
      status: string;
      accepted: number;
      rejected_rows: { row: number; reason: string }[];
      rejected_count: number;
    };
    expect(accepted).toMatchObject({ status: "accepted", accepted: 3, rejected_count: 3 });
    expect(accepted.id).toMatch(/^bat_[0-9A-Z]{26}$/);
    expect(accepted.rejected_rows.map((r) => r.row)).toEqual([4, 5, 6]);
    expect(accepted.rejected_rows[0]?.reason).toMatch(/code/);
    expect(accepted.rejected_rows[1]?.reason).toMatch(/to/);
    expect(accepted.rejected_rows[2]?.reason).toMatch(/columns/);
    expect(res.headers.get("location")).toBe(`/v1/batches/${accepted.id}`);

    const done = await eventually(
      async () => {
        const batch = await readBatch(tenant, accepted.id);
        return batch.status === "completed" ? batch : undefined;
      },
      10_000,
      "the batch to complete",
    );
    // The batch counts its rejected rows under the same name the 202 did.
    expect(done).toMatchObject({ accepted: 3, rejected_count: 3, canceled_at: null });
    expect(done).not.toHaveProperty("rejected");
    expect((done.counts.sent ?? 0) + (done.counts.delivered ?? 0)).toBe(3);

    const list = await tenant.api("/v1/messages?limit=10");
    const { data } = (await list.json()) as { data: { body: string; batch_id: string }[] };
    expect(data.map((m) => m.body).sort()).toEqual([
      "【Relaybox】Your code is 1111. It expires in 5 minutes.",
      "【Relaybox】Your code is 2222. It expires in 5 minutes.",
      "【Relaybox】Your code is 6666. It expires in 10 minutes.",
    ]);
    expect(new Set(data.map((m) => m.batch_id))).toEqual(new Set([accepted.id]));
  });

  it("sends a free body to a JSON list of recipients", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/batches",
      postJson({
        body: "Store closes at 6 today",
        recipients: [{ to: "+14155550100" }, { to: "+14155550101" }],
      }),
    );
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // Completed once each message has a send result; the receipts come after.
    const done = await eventually(async () => {
      const batch = await readBatch(tenant, id);
      return batch.status === "completed" ? batch : undefined;
    });
    expect((done.counts.sent ?? 0) + (done.counts.delivered ?? 0)).toBe(2);
    await eventually(async () => {
      const batch = await readBatch(tenant, id);
      return batch.counts.delivered === 2 ? batch : undefined;
    });
  });

  it("schedules a batch, shows it accepted with its messages scheduled, and cancels it whole", async () => {
    const tenant = await createTenant();
    const sendAt = new Date(Date.now() + 1_200).toISOString();
    const res = await tenant.api(
      "/v1/batches",
      postJson({
        body: "Sale starts now",
        send_at: sendAt,
        recipients: [{ to: "+14155550110" }, { to: "+14155550111" }, { to: "+14155550112" }],
      }),
    );
    const { id } = (await res.json()) as { id: string };
    const before = await readBatch(tenant, id);
    expect(before).toMatchObject({ status: "accepted", counts: { scheduled: 3 } });

    const cancel = await tenant.api(`/v1/batches/${id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ id, status: "canceled" });
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    const after = await readBatch(tenant, id);
    expect(after).toMatchObject({ status: "canceled", counts: { canceled: 3 } });
    expect(after.canceled_at).not.toBeNull();
  });

  it("replays the first answer for a repeated Idempotency-Key and creates one batch", async () => {
    const tenant = await createTenant();
    const request = {
      body: "Once",
      recipients: [{ to: "+14155550120" }],
    };
    const first = await tenant.api("/v1/batches", postJson(request, { "idempotency-key": "b-1" }));
    const second = await tenant.api("/v1/batches", postJson(request, { "idempotency-key": "b-1" }));
    expect(second.status).toBe(202);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.json()).toEqual(await first.clone().json());
    // The list reads the send log, which the dispatcher writes moments after accepting.
    const listed = await eventually(async () => {
      const list = await tenant.api("/v1/batches");
      const { data } = (await list.json()) as { data: { id: string }[] };
      return data.length > 0 ? data : undefined;
    });
    expect(listed.map((b) => b.id)).toEqual([((await first.json()) as { id: string }).id]);
    expect(listed[0]).toMatchObject({ accepted: 1, rejected_count: 0 });
  });

  it("lists batches newest first, a page at a time through next_cursor", async () => {
    const tenant = await createTenant();
    const ids: string[] = [];
    for (const to of ["+14155550130", "+14155550131", "+14155550132"]) {
      const res = await tenant.api(
        "/v1/batches",
        postJson({ body: "Paged", recipients: [{ to }] }),
      );
      ids.push(((await res.json()) as { id: string }).id);
    }
    type Page = { data: { id: string }[]; next_cursor: string | null };
    const list = async (query: string) =>
      (await (await tenant.api(`/v1/batches${query}`)).json()) as Page;
    // The list reads the send log, which the dispatcher writes moments after accepting.
    await eventually(async () => ((await list("")).data.length === 3 ? true : undefined));
    // Ids are time-ordered; two made in the same millisecond order by their random part.
    const newestFirst = [...ids].sort().reverse();
    const page1 = await list("?limit=2");
    expect(page1.data.map((b) => b.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.next_cursor).toBe(newestFirst[1]);
    const page2 = await list(`?limit=2&cursor=${page1.next_cursor}`);
    expect(page2.data.map((b) => b.id)).toEqual(newestFirst.slice(2));
    expect(page2.next_cursor).toBeNull();
  });
});
