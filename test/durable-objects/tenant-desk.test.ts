import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deskOf } from "../../src/delivery/desk";
import { DEFAULT_DESK_SETTINGS, type DeskSettings } from "../../src/domain/desk";
import { newId } from "../../src/lib/ids";
import { signedIn } from "../support/dashboard";
import { createTenant } from "../support/tenants";

// Always open: these tests are about assignment, not the clock.
const allDay = [{ start: "00:00", end: "24:00" }];
const open: DeskSettings = {
  ...DEFAULT_DESK_SETTINGS,
  enabled: true,
  workingHours: {
    mon: allDay,
    tue: allDay,
    wed: allDay,
    thu: allDay,
    fri: allDay,
    sat: allDay,
    sun: allDay,
  },
};

describe("assignment at the desk", () => {
  it("assigns 100 conversations arriving at once across 10 agents exactly", async () => {
    const tenant = await createTenant();
    const desk = deskOf(env, tenant.id);
    const now = Date.now();
    const agents = Array.from({ length: 10 }, (_, i) => `usr_AGENT${String(i).padStart(21, "0")}`);
    await Promise.all(
      agents.map((userId, i) =>
        desk.setAgent({
          tenantId: tenant.id,
          userId,
          status: "online",
          capacity: 5 + (i % 4),
          at: now,
        }),
      ),
    );
    const capacity = new Map(agents.map((id, i) => [id, 5 + (i % 4)]));
    const total = [...capacity.values()].reduce((a, b) => a + b, 0); // 63
    const ids = Array.from({ length: 100 }, () => newId("cnv", now));
    const results = await Promise.all(
      ids.map((conversationId) =>
        desk.handoff({
          tenantId: tenant.id,
          conversationId,
          channel: "sms",
          skill: null,
          settings: open,
          at: now,
        }),
      ),
    );
    const assigned = results.filter((r) => r.state === "assigned");
    expect(assigned).toHaveLength(total);
    expect(results.filter((r) => r.state === "queued")).toHaveLength(100 - total);

    const view = await desk.agents();
    const held = view.flatMap((a) => a.conversations);
    expect(new Set(held).size).toBe(held.length); // never two agents
    expect(held).toHaveLength(total);
    for (const a of view) {
      expect(a.load).toBe(capacity.get(a.userId));
      expect(a.conversations).toHaveLength(a.load);
    }
    const queued = (await desk.queues()).flatMap((q) => q.conversations.map((c) => c.id));
    expect(queued).toHaveLength(100 - total);

    // A freed slot goes to the conversation that waited longest (the first queued).
    const agent = view[0];
    const resolved = agent?.conversations[0];
    expect(resolved).toBeDefined();
    await desk.settle({
      tenantId: tenant.id,
      conversationId: resolved ?? "",
      channel: "sms",
      to: "resolved",
      actor: "system",
      at: now + 1,
    });
    const after = await desk.agents();
    const same = after.find((a) => a.userId === agent?.userId);
    expect(same?.load).toBe(agent?.load);
    expect(same?.conversations).toContain(queued[0]);

    // Every move reached D1's event list: 100 queued, 63 + 1 assigned, 1 resolved.
    const moves = await env.DB.prepare(
      "SELECT to_state, COUNT(*) AS n FROM conversation_events WHERE tenant_id = ? GROUP BY to_state ORDER BY to_state",
    )
      .bind(tenant.id)
      .all<{ to_state: string; n: number }>();
    expect(moves.results).toEqual([
      { to_state: "assigned", n: total + 1 },
      { to_state: "queued", n: 100 },
      { to_state: "resolved", n: 1 },
    ]);
  }, 30_000);

  it("answers a left message once, and queues it when the customer writes again in hours", async () => {
    const tenant = await createTenant();
    const desk = deskOf(env, tenant.id);
    const now = Date.now();
    const conversationId = newId("cnv", now);
    const handoff = (at: number) =>
      desk.handoff({
        tenantId: tenant.id,
        conversationId,
        channel: "sms",
        skill: null,
        settings: open,
        at,
      });
    // No agent online: a left message with the automatic answer, then nothing more.
    expect(await handoff(now)).toMatchObject({
      state: "left_message",
      reason: "no_agent",
      answer: open.noAgentAnswer,
    });
    expect(await handoff(now + 1)).toEqual({
      state: "left_message",
      agentId: null,
      answer: null,
      reason: null,
    });
    await desk.setAgent({
      tenantId: tenant.id,
      userId: "usr_BACK",
      status: "online",
      capacity: 1,
      at: now,
    });
    expect(await handoff(now + 2)).toMatchObject({
      state: "assigned",
      agentId: "usr_BACK",
      answer: null,
    });
  });

  it("moves a conversation that waited past max_queue_seconds to a left message", async () => {
    const tenant = await createTenant();
    const desk = deskOf(env, tenant.id);
    const now = Date.now();
    await desk.setAgent({
      tenantId: tenant.id,
      userId: "usr_ONE",
      status: "online",
      capacity: 1,
      at: now,
    });
    const [first, second] = [newId("cnv", now), newId("cnv", now)];
    const short = { ...open, maxQueueSeconds: 10 };
    for (const conversationId of [first, second]) {
      await desk.handoff({
        tenantId: tenant.id,
        conversationId,
        channel: "sms",
        skill: null,
        settings: short,
        at: now - 20_000,
      });
    }
    await runAlarm(tenant.id);
    expect(await desk.queues()).toEqual([]);
    const agents = await desk.agents();
    expect(agents[0]?.conversations).toEqual([first]);
  });
});

async function runAlarm(tenantId: string): Promise<void> {
  const { runDurableObjectAlarm } = await import("cloudflare:test");
  await runDurableObjectAlarm(env.DESK.get(env.DESK.idFromName(`tenant:${tenantId}`)));
}

async function openSocket(key: string, after?: number, path = "/v1/desk/live") {
  const auth: Record<string, string> = key.startsWith("rbx_session=")
    ? { cookie: key }
    : { Authorization: `Bearer ${key}` };
  const res = await SELF.fetch(
    `https://example.com${path}${after === undefined ? "" : `?after=${after}`}`,
    { headers: { Upgrade: "websocket", ...auth } },
  );
  expect(res.status).toBe(101);
  const socket = res.webSocket;
  if (!socket) {
    throw new Error("no socket");
  }
  const received: { seq?: number; type: string }[] = [];
  socket.addEventListener("message", (event) => {
    received.push(JSON.parse(String(event.data)));
  });
  socket.accept();
  return { socket, received };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(check()).toBe(true);
}

describe("the live channel", () => {
  it("catches a reconnecting client up from its last event, with no gap and no duplicate", async () => {
    const tenant = await createTenant();
    const desk = deskOf(env, tenant.id);
    const first = await openSocket(tenant.key);
    await until(() => first.received.some((e) => e.type === "hello"));
    for (let i = 0; i < 3; i++) {
      await desk.publish(tenant.id, { type: "message.received", n: i });
    }
    await until(() => first.received.filter((e) => e.type === "message.received").length === 3);
    const seen = first.received.filter((e) => e.seq !== undefined && e.type !== "hello");
    const last = seen.at(-1)?.seq ?? 0;
    first.socket.close(1000, "bye");

    // Missed while away.
    for (let i = 3; i < 6; i++) {
      await desk.publish(tenant.id, { type: "message.received", n: i });
    }
    const second = await openSocket(tenant.key, last);
    await desk.publish(tenant.id, { type: "message.received", n: 6 });
    await until(() => second.received.length === 4);
    const all = [...seen, ...second.received].map((e) => e.seq);
    expect(all).toEqual([1, 2, 3, 4, 5, 6, 7]);
    second.socket.close(1000, "bye");
  });

  it("serves a signed-in agent on /dashboard/desk/live, with agents' changes live", async () => {
    const tenant = await createTenant();
    const { user, cookie } = await signedIn(tenant, "agent");
    const live = await openSocket(cookie, undefined, "/dashboard/desk/live");
    await until(() => live.received.some((e) => e.type === "hello"));
    const res = await tenant.api(`/v1/desk/agents/${user.id}`, {
      method: "PATCH",
      body: JSON.stringify({ status: "online", capacity: 3 }),
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(200);
    await until(() => live.received.some((e) => e.type === "agent.updated"));
    expect(live.received.find((e) => e.type === "agent.updated")).toMatchObject({
      agent_id: user.id,
      status: "online",
      capacity: 3,
    });
    live.socket.close(1000, "bye");
    // Another site's page cannot open a socket with the agent's cookie.
    const hijack = await SELF.fetch("https://example.com/dashboard/desk/live", {
      headers: { Upgrade: "websocket", cookie, origin: "https://evil.example" },
    });
    expect(hijack.status).toBe(403);
    // An agent is no supervisor: the queues are not its to see.
    const queues = await SELF.fetch("https://example.com/v1/desk/queues", { headers: { cookie } });
    expect(queues.status).toBe(403);
  });

  it("refuses a request without a key and one that is no upgrade", async () => {
    const tenant = await createTenant();
    const anonymous = await SELF.fetch("https://example.com/v1/desk/live", {
      headers: { Upgrade: "websocket" },
    });
    expect(anonymous.status).toBe(401);
    const plain = await SELF.fetch("https://example.com/v1/desk/live", {
      headers: { Authorization: `Bearer ${tenant.key}` },
    });
    expect(plain.status).toBe(400);
  });
});
