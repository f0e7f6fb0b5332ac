import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

describe("batches API security", () => {
  it("refuses requests without a key with 401", async () => {
    await expectProblem(
      await call(
        "/v1/batches",
        null,
        postJson({ body: "Hi", recipients: [{ to: "+14155550100" }] }),
      ),
      { status: 401, slug: "unauthenticated", instance: "/v1/batches" },
    );
  });

  it("refuses a key without messages:send with 403", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["messages:read"]);
    await expectProblem(
      await call(
        "/v1/batches",
        key,
        postJson({ body: "Hi", recipients: [{ to: "+14155550100" }] }),
      ),
      { status: 403, slug: "forbidden", instance: "/v1/batches" },
    );
  });

  it("shows and cancels another tenant's batch as a 404 identical to a missing one", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const res = await owner.api(
      "/v1/batches",
      postJson({
        body: "Hi",
        send_at: new Date(Date.now() + 60_000).toISOString(),
        recipients: [{ to: "+14155550100" }],
      }),
    );
    const { id } = (await res.json()) as { id: string };
    const path = `/v1/batches/${id}`;
    const theirs = await expectProblem(await other.api(path), {
      status: 404,
      slug: "not-found",
      instance: path,
    });
    expect(theirs.detail).toBe(`No batch ${id}.`);
    await expectProblem(await other.api(`${path}/cancel`, { method: "POST" }), {
      status: 404,
      slug: "not-found",
      instance: `${path}/cancel`,
    });
    const list = await other.api("/v1/batches");
    expect(((await list.json()) as { data: unknown[] }).data).toEqual([]);
    const mine = await owner.api(path);
    expect(await mine.json()).toMatchObject({ status: "accepted", canceled_at: null });
  });
});
