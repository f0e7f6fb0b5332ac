import { describe, expect, it } from "vitest";
import {
  allPages,
  insertConversation,
  insertInbound,
  insertSent,
  type ThreadItem,
} from "../support/conversations";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson } from "../support/tenants";

const MISSING = "cnv_01JC2V6S8J3YH4KQ6W1E0Z9D7F";

/** A problem's body without what differs between any two responses. */
async function problemOf(res: Response) {
  const body = (await res.json()) as Record<string, unknown>;
  return { status: res.status, type: body.type, title: body.title, detail: body.detail };
}

describe("conversations across tenants", () => {
  it("answers another tenant's conversation exactly as a missing one, on every route", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const phone = "+8613800138020";
    const id = await insertConversation(owner.id, { counterpart: phone, unreadCount: 4 });
    await insertInbound(owner.id, { id, counterpart: phone }, { body: "secret", at: Date.now() });
    const routes: [(cnv: string) => string, RequestInit?][] = [
      [(cnv) => `/v1/conversations/${cnv}`],
      [(cnv) => `/v1/conversations/${cnv}/messages`],
      [(cnv) => `/v1/conversations/${cnv}/messages`, postJson({ body: "hi" })],
      [(cnv) => `/v1/conversations/${cnv}/read`, { method: "POST" }],
    ];
    for (const [path, init] of routes) {
      const foreign = await other.api(path(id), init);
      const missing = await other.api(path(MISSING), init);
      expect(foreign.status).toBe(404);
      const seen = await problemOf(foreign);
      expect({ ...seen, detail: String(seen.detail).replace(id, MISSING) }).toEqual(
        await problemOf(missing),
      );
    }
    // Nothing the other tenant did reached the conversation.
    const res = await owner.api(`/v1/conversations/${id}`);
    expect(((await res.json()) as { unread_count: number }).unread_count).toBe(4);
    const list = (await (await other.api("/v1/conversations")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("never shows another tenant's messages to the same number in a thread", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const phone = "+8613800138021";
    const at = Date.now() - 60_000;
    const mine = await insertConversation(owner.id, { counterpart: phone });
    const theirs = await insertConversation(other.id, { counterpart: phone });
    const inbound = await insertInbound(
      owner.id,
      { id: mine, counterpart: phone },
      {
        body: "mine",
        at,
      },
    );
    const sent = await insertSent(owner.id, { to: phone, body: "to mine", at: at + 1 });
    await insertInbound(other.id, { id: theirs, counterpart: phone }, { body: "theirs", at });
    await insertSent(other.id, { to: phone, body: "to theirs", at: at + 1 });
    const { items } = await allPages<ThreadItem>(
      owner.api,
      `/v1/conversations/${mine}/messages?`,
      10,
    );
    expect(items.map((m) => m.id)).toEqual([inbound, sent]);
  });
});

describe("conversations' keys and permissions", () => {
  it("asks for a key (401), inbound:read to read and conversations:write to reply or mark read (403)", async () => {
    const tenant = await createTenant();
    const id = await insertConversation(tenant.id, { counterpart: "+8613800138022" });
    const reads = [
      "/v1/conversations",
      `/v1/conversations/${id}`,
      `/v1/conversations/${id}/messages`,
    ];
    const writes: [string, RequestInit][] = [
      [`/v1/conversations/${id}/messages`, postJson({ body: "hi" })],
      [`/v1/conversations/${id}/read`, { method: "POST" }],
    ];
    for (const path of reads) {
      await expectProblem(await call(path, null), {
        status: 401,
        slug: "unauthenticated",
        instance: path.split("?")[0] ?? path,
      });
    }
    const sender = await tenant.addKey(["messages:send", "messages:read"]);
    for (const path of reads) {
      await expectProblem(await call(path, sender.key), {
        status: 403,
        slug: "forbidden",
        instance: path,
        detail: /inbound:read/,
      });
    }
    const reader = await tenant.addKey(["inbound:read"]);
    for (const path of reads) {
      expect((await call(path, reader.key)).status).toBe(200);
    }
    for (const [path, init] of writes) {
      await expectProblem(await call(path, reader.key, init), {
        status: 403,
        slug: "forbidden",
        instance: path,
        detail: /conversations:write/,
      });
    }
    const agent = await tenant.addKey(["conversations:write"]);
    expect((await call(`/v1/conversations/${id}/read`, agent.key, { method: "POST" })).status).toBe(
      200,
    );
  });

  it("lets a test key reply through the sandbox without changing the conversation, but not mark it read", async () => {
    const tenant = await createTenant();
    const id = await insertConversation(tenant.id, {
      counterpart: "+8613800138023",
      unreadCount: 1,
      lastMessage: { direction: "inbound", body: "hi", at: Date.now() - 1000 },
      lastActivityAt: Date.now() - 1000,
    });
    const before = await (await tenant.api(`/v1/conversations/${id}`)).json();
    const test = await tenant.addKey(["inbound:read", "conversations:write"], "test");
    const reply = await call(`/v1/conversations/${id}/messages`, test.key, postJson({ body: "t" }));
    expect(reply.status).toBe(202);
    expect(await (await tenant.api(`/v1/conversations/${id}`)).json()).toEqual(before);
    await expectProblem(await call(`/v1/conversations/${id}/read`, test.key, { method: "POST" }), {
      status: 403,
      slug: "forbidden",
      instance: `/v1/conversations/${id}/read`,
      detail: /Test keys/,
    });
  });
});
