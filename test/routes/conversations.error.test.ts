import { describe, expect, it } from "vitest";
import { insertConversation } from "../support/conversations";
import { expectProblem } from "../support/problem";
import { createTenant, postJson } from "../support/tenants";

const MISSING = "cnv_01JC2V6S8J3YH4KQ6W1E0Z9D7F";

describe("conversations' refusals", () => {
  it("refuses malformed list queries with a 400 naming each parameter", async () => {
    const tenant = await createTenant();
    const cases: [string, string[]][] = [
      ["channel=fax", ["/query/channel"]],
      ["since=yesterday", ["/query/since"]],
      ["limit=0", ["/query/limit"]],
      ["limit=101", ["/query/limit"]],
      ["cursor=cnv_123", ["/query/cursor"]],
      ["cursor=1700000000000.msg_01JC2V6S8J3YH4KQ6W1E0Z9D7F", ["/query/cursor"]],
    ];
    for (const [query, pointers] of cases) {
      await expectProblem(await tenant.api(`/v1/conversations?${query}`), {
        status: 400,
        slug: "validation-error",
        instance: "/v1/conversations",
        pointers,
      });
    }
  });

  it("refuses a malformed id or thread cursor with a 400", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/conversations/inb_123"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/conversations/inb_123",
      pointers: ["/path/id"],
    });
    const id = await insertConversation(tenant.id, { counterpart: "+8613800138010" });
    await expectProblem(await tenant.api(`/v1/conversations/${id}/messages?cursor=${MISSING}`), {
      status: 400,
      slug: "validation-error",
      instance: `/v1/conversations/${id}/messages`,
      pointers: ["/query/cursor"],
    });
  });

  it("answers 404 for a conversation that does not exist, on every route", async () => {
    const tenant = await createTenant();
    const requests: [string, RequestInit?][] = [
      [`/v1/conversations/${MISSING}`],
      [`/v1/conversations/${MISSING}/messages`],
      [`/v1/conversations/${MISSING}/messages`, postJson({ body: "hi" })],
      [`/v1/conversations/${MISSING}/read`, { method: "POST" }],
    ];
    for (const [path, init] of requests) {
      await expectProblem(await tenant.api(path, init), {
        status: 404,
        slug: "not-found",
        instance: path,
        detail: new RegExp(`No conversation ${MISSING}`),
      });
    }
  });

  it("refuses a reply without a body, with an empty one or with other fields (400)", async () => {
    const tenant = await createTenant();
    const id = await insertConversation(tenant.id, { counterpart: "+8613800138011" });
    const path = `/v1/conversations/${id}/messages`;
    const bodies: [unknown, string[]][] = [
      [{}, ["/body"]],
      [{ body: "" }, ["/body"]],
      [{ body: "x".repeat(1601) }, ["/body"]],
      [{ body: "hi", to: "+8613800138999" }, ["/to"]],
    ];
    for (const [body, pointers] of bodies) {
      await expectProblem(await tenant.api(path, postJson(body)), {
        status: 400,
        slug: "validation-error",
        instance: path,
        pointers,
      });
    }
    const thread = (await (await tenant.api(path)).json()) as { data: unknown[] };
    expect(thread.data).toEqual([]);
  });

  it("refuses an Idempotency-Key reused with another body (422) and sends nothing more", async () => {
    const tenant = await createTenant();
    const id = await insertConversation(tenant.id, { counterpart: "+8613800138012" });
    const path = `/v1/conversations/${id}/messages`;
    const first = await tenant.api(path, postJson({ body: "one" }, { "idempotency-key": "k" }));
    expect(first.status).toBe(202);
    await expectProblem(
      await tenant.api(path, postJson({ body: "two" }, { "idempotency-key": "k" })),
      {
        status: 422,
        slug: "idempotency-key-reused",
        instance: path,
      },
    );
  });

  it("refuses an SMS reply the send path refuses, as POST /v1/messages would (422)", async () => {
    const tenant = await createTenant({ allowedCountries: ["CN"] });
    const id = await insertConversation(tenant.id, { counterpart: "+14155550100" });
    const path = `/v1/conversations/${id}/messages`;
    const res = await tenant.api(path, postJson({ body: "hello" }));
    await expectProblem(res, { status: 422, slug: "unprocessable-entity", instance: path });
  });

  it("refuses a WeChat reply when no app has heard from the follower (422)", async () => {
    const tenant = await createTenant();
    const id = await insertConversation(tenant.id, { channel: "wechat", counterpart: "oNobody" });
    const path = `/v1/conversations/${id}/messages`;
    await expectProblem(await tenant.api(path, postJson({ body: "hello" })), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /No WeChat app has heard from oNobody/,
    });
  });
});
