import { env, SELF } from "cloudflare:test";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { WEBCHAT_LIMITS } from "../../src/domain/webchat";
import { expectProblem } from "../support/problem";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { auditActions, invite } from "../support/users";

const PAGE = "https://shop.example";
const allDay = [{ start: "00:00", end: "24:00" }];
const always = Object.fromEntries(
  ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, allDay]),
);

interface WidgetKey {
  id: string;
  secret: string | null;
  allowed_origins: string[];
}

async function widgetKey(tenant: TestTenant, origins = [PAGE]): Promise<WidgetKey> {
  const res = await tenant.api(
    "/v1/desk/widget-keys",
    postJson({ name: "Shop", allowed_origins: origins }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as WidgetKey;
}

type Frame = { type: string; [k: string]: unknown };

function connectUrl(query: Record<string, string>): string {
  return `https://example.com/webchat/connect?${new URLSearchParams(query)}`;
}

async function openVisitor(query: Record<string, string>, origin: string | null = PAGE) {
  const res = await SELF.fetch(connectUrl(query), {
    headers: { Upgrade: "websocket", ...(origin ? { Origin: origin } : {}) },
  });
  expect(res.status).toBe(101);
  const socket = res.webSocket;
  if (!socket) {
    throw new Error("no socket");
  }
  const frames: Frame[] = [];
  socket.addEventListener("message", (event) => frames.push(JSON.parse(String(event.data))));
  socket.accept();
  let n = 0;
  const say = (text: string) => {
    n += 1;
    socket.send(JSON.stringify({ type: "message", id: `m${n}`, text }));
  };
  return { socket, frames, say };
}

async function until(check: () => boolean, what: string): Promise<void> {
  await eventually(async () => (check() ? true : undefined), 10_000, what);
}

function sign(secret: string, claims: Record<string, unknown>, expiresAt: number) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime(Math.floor(expiresAt / 1000))
    .sign(new TextEncoder().encode(secret));
}

describe("widget keys", () => {
  it("are created with a secret shown once, audited, and refuse a path as an origin", async () => {
    const tenant = await createTenant();
    const key = await widgetKey(tenant);
    expect(key.id).toMatch(/^wk_/);
    expect(key.secret).toMatch(/^wks_/);
    const list = (await (await tenant.api("/v1/desk/widget-keys")).json()) as {
      data: Record<string, unknown>[];
    };
    expect(list.data[0]).toEqual(expect.objectContaining({ id: key.id, allowed_origins: [PAGE] }));
    expect(list.data[0]).not.toHaveProperty("secret");
    expect(await auditActions(tenant.id)).toContain("widget_key.create");
    await expectProblem(
      await tenant.api(
        "/v1/desk/widget-keys",
        postJson({ allowed_origins: ["https://shop.example/chat"] }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/desk/widget-keys",
        pointers: ["/allowed_origins/0"],
      },
    );
  });

  it("serves the widget script", async () => {
    const res = await SELF.fetch("https://example.com/webchat.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("javascript");
    expect(await res.text()).toContain("/webchat/connect?key=");
  });
});

describe("connecting a visitor", () => {
  it("refuses another origin, no origin, an unknown key and a revoked key", async () => {
    const tenant = await createTenant();
    const key = await widgetKey(tenant);
    const query = { key: key.id, visitor: "visitor-0001" };
    const attempt = (origin: string | null, q = query) =>
      SELF.fetch(connectUrl(q), {
        headers: { Upgrade: "websocket", ...(origin ? { Origin: origin } : {}) },
      });
    await expectProblem(await attempt("https://evil.example"), {
      status: 403,
      slug: "forbidden",
      instance: "/webchat/connect",
    });
    await expectProblem(await attempt(null), {
      status: 403,
      slug: "forbidden",
      instance: "/webchat/connect",
    });
    await expectProblem(await attempt("https://shop.example:8443"), {
      status: 403,
      slug: "forbidden",
      instance: "/webchat/connect",
    });
    await expectProblem(
      await attempt(PAGE, { key: "wk_000000000000000000000000", visitor: "v-00000001" }),
      {
        status: 404,
        slug: "not-found",
        instance: "/webchat/connect",
      },
    );
    await expectProblem(await attempt(PAGE, { key: key.id, visitor: "no" }), {
      status: 400,
      slug: "validation-error",
      instance: "/webchat/connect",
      pointers: ["/query/visitor"],
    });
    const revoked = await tenant.api(`/v1/desk/widget-keys/${key.id}`, { method: "DELETE" });
    expect(revoked.status).toBe(204);
    await expectProblem(await attempt(PAGE), {
      status: 404,
      slug: "not-found",
      instance: "/webchat/connect",
    });
  });

  it("takes a token the site signed, and refuses an expired one and a wrong signature", async () => {
    const tenant = await createTenant();
    const key = await widgetKey(tenant);
    const secret = key.secret ?? "";
    const good = await sign(secret, { sub: "cust-42", name: "Ada" }, Date.now() + 600_000);
    const visitor = await openVisitor({ key: key.id, token: good });
    await until(() => visitor.frames.some((f) => f.type === "hello"), "hello");
    expect(visitor.frames[0]).toEqual({ type: "hello", name: "Ada" });
    visitor.say("hello there");
    await until(() => visitor.frames.some((f) => f.type === "received"), "received");
    const row = await env.DB.prepare(
      "SELECT channel, counterpart FROM conversations WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .first();
    expect(row).toEqual({ channel: "webchat", counterpart: "user:cust-42" });
    visitor.socket.close(1000, "bye");

    const expired = await sign(secret, { sub: "cust-42" }, Date.now() - 120_000);
    const wrong = await sign("wks_not-the-secret", { sub: "cust-42" }, Date.now() + 600_000);
    for (const [token, why] of [
      [expired, "expired"],
      [wrong, "signature"],
      ["not.a.jwt", "not an HS256 JWT"],
    ] as const) {
      const res = await SELF.fetch(connectUrl({ key: key.id, token }), {
        headers: { Upgrade: "websocket", Origin: PAGE },
      });
      const problem = await expectProblem(res, {
        status: 401,
        slug: "unauthenticated",
        instance: "/webchat/connect",
      });
      expect(problem.detail).toContain(why);
    }
  });

  it("keeps a key to its own tenant: the other tenant's key never reaches this one's conversations", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const keyB = await widgetKey(b);
    const secretA = (await widgetKey(a)).secret ?? "";
    // A token signed with tenant A's secret is refused on tenant B's key.
    const tokenA = await sign(secretA, { sub: "cust-1" }, Date.now() + 600_000);
    await expectProblem(
      await SELF.fetch(connectUrl({ key: keyB.id, token: tokenA }), {
        headers: { Upgrade: "websocket", Origin: PAGE },
      }),
      { status: 401, slug: "unauthenticated", instance: "/webchat/connect" },
    );
    const visitor = await openVisitor({ key: keyB.id, visitor: "shared-visitor-1" });
    visitor.say("hi");
    await until(() => visitor.frames.some((f) => f.type === "received"), "received");
    const counts = await env.DB.prepare(
      "SELECT tenant_id, count(*) AS n FROM conversations WHERE channel = 'webchat' AND tenant_id IN (?, ?) GROUP BY tenant_id",
    )
      .bind(a.id, b.id)
      .all<{ tenant_id: string; n: number }>();
    expect(counts.results).toEqual([{ tenant_id: b.id, n: 1 }]);
    visitor.socket.close(1000, "bye");
  });

  it("answers 429 past a visitor's messages a minute", async () => {
    const tenant = await createTenant();
    const key = await widgetKey(tenant);
    const visitor = await openVisitor({ key: key.id, visitor: "chatty-visitor" });
    for (let i = 0; i <= WEBCHAT_LIMITS.visitorMessagesPerMinute; i++) {
      visitor.say(`message ${i}`);
    }
    await until(() => visitor.frames.some((f) => f.type === "error" && f.status === 429), "a 429");
    const received = visitor.frames.filter((f) => f.type === "received").length;
    expect(received).toBe(WEBCHAT_LIMITS.visitorMessagesPerMinute);
    visitor.socket.close(1000, "bye");
  });
});

describe("a web chat at the desk", () => {
  it("goes visitor → robot → handoff → agent reply over the socket, and keeps a reply for an absent visitor", async () => {
    const tenant = await createTenant();
    const desk = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ desk: { enabled: true, working_hours: always } }),
      headers: { "content-type": "application/json" },
    });
    expect(desk.status).toBe(200);
    const { user } = await invite(tenant, "agent");
    const online = await tenant.api(`/v1/desk/agents/${user.id}`, {
      method: "PATCH",
      body: JSON.stringify({ status: "online", capacity: 2 }),
      headers: { "content-type": "application/json" },
    });
    expect(online.status).toBe(200);
    const rule = await tenant.api(
      "/v1/auto-replies",
      postJson({ match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 6" } }),
    );
    expect(rule.status).toBe(201);
    const key = await widgetKey(tenant);
    const visitor = await openVisitor({ key: key.id, visitor: "visitor-flow-1" });

    visitor.say("hours");
    await until(
      () => visitor.frames.some((f) => f.type === "message" && f.from === "robot"),
      "the robot's answer",
    );
    expect(visitor.frames.find((f) => f.type === "message")).toMatchObject({ body: "9 to 6" });

    visitor.say("人工");
    const conversation = await eventually(
      async () => {
        const row = await env.DB.prepare(
          "SELECT id, desk_state, agent_id FROM conversations WHERE tenant_id = ? AND channel = 'webchat'",
        )
          .bind(tenant.id)
          .first<{ id: string; desk_state: string; agent_id: string | null }>();
        return row?.desk_state === "assigned" ? row : undefined;
      },
      10_000,
      "the assignment",
    );
    expect(conversation.agent_id).toBe(user.id);

    const reply = await tenant.api(
      `/v1/conversations/${conversation.id}/reply`,
      postJson({ body: "How can I help?" }),
    );
    expect(reply.status).toBe(202);
    expect(await reply.json()).toMatchObject({ channel: "webchat", to: "visitor:visitor-flow-1" });
    await until(
      () => visitor.frames.some((f) => f.type === "message" && f.body === "How can I help?"),
      "the agent's reply",
    );
    expect(visitor.frames.find((f) => f.body === "How can I help?")).toMatchObject({
      from: "agent",
    });
    const state = (await (await tenant.api(`/v1/conversations/${conversation.id}`)).json()) as {
      desk_state: string;
      channel: string;
    };
    expect(state).toMatchObject({ desk_state: "pending", channel: "webchat" });

    // Away: the reply waits, and arrives once on reconnect.
    visitor.socket.close(1000, "away");
    const later = await tenant.api(
      `/v1/conversations/${conversation.id}/reply`,
      postJson({ body: "Still there?" }),
    );
    expect(later.status).toBe(202);
    const back = await openVisitor({ key: key.id, visitor: "visitor-flow-1" });
    await until(() => back.frames.some((f) => f.body === "Still there?"), "the kept reply");
    expect(back.frames.filter((f) => f.type === "message").map((f) => f.body)).toEqual([
      "Still there?",
    ]);
    back.socket.close(1000, "bye");

    // The thread shows both directions: the visitor's messages, the robot's and the agent's.
    const thread = (await (
      await tenant.api(`/v1/conversations/${conversation.id}/messages?limit=20`)
    ).json()) as { data: { direction: string; body: string }[] };
    expect(thread.data.map((m) => `${m.direction}:${m.body}`).sort()).toEqual(
      [
        "inbound:hours",
        "outbound:9 to 6",
        "inbound:人工",
        "outbound:How can I help?",
        "outbound:Still there?",
      ].sort(),
    );
  });
});
