import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deskSettingsFor } from "../../src/services/desk/intake";
import { insertConversation, insertInbound } from "../support/conversations";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { auditActions, invite } from "../support/users";
import { createEndpoint, deliveriesOf } from "../support/webhooks";
import { appWithFakeApi, fakeWeChat, follower } from "../support/wechat-outbound";

const HOUR = 3_600_000;
const allDay = [{ start: "00:00", end: "24:00" }];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const always = Object.fromEntries(DAYS.map((d) => [d, allDay]));
const never = Object.fromEntries(DAYS.map((d) => [d, []]));

interface Conversation {
  id: string;
  desk_state: string;
  agent_id: string | null;
  due_at: string | null;
  satisfaction: number | null;
  service_window: { open: boolean; expires_at: string | null } | null;
}

function patch(body: unknown): RequestInit {
  return {
    method: "PATCH",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  };
}

async function enableDesk(tenant: TestTenant, desk: Record<string, unknown>) {
  const res = await tenant.api("/v1/tenant", patch({ desk: { enabled: true, ...desk } }));
  expect(res.status).toBe(200);
  return ((await res.json()) as { desk: Record<string, unknown> }).desk;
}

async function onlineAgent(tenant: TestTenant, capacity = 2): Promise<string> {
  const { user } = await invite(tenant, "agent");
  const res = await tenant.api(
    `/v1/desk/agents/${user.id}`,
    patch({ status: "online", capacity, skills: ["billing"] }),
  );
  expect(res.status).toBe(200);
  return user.id;
}

async function textIn(tenant: TestTenant, body: string, from = "138 0013 8000") {
  const res = await call(`/hooks/sms/sandbox/${tenant.hookToken}/inbound`, null, {
    method: "POST",
    body: JSON.stringify({ from, to: "+8610690000", body }),
  });
  expect(res.status).toBeLessThan(300);
}

async function conversationWhere(
  tenant: TestTenant,
  check: (c: Conversation) => boolean,
): Promise<Conversation> {
  return eventually(
    async () => {
      const list = (await (await tenant.api("/v1/conversations")).json()) as {
        data: { id: string }[];
      };
      const id = list.data[0]?.id;
      if (!id) {
        return undefined;
      }
      const c = (await (await tenant.api(`/v1/conversations/${id}`)).json()) as Conversation;
      return check(c) ? c : undefined;
    },
    10_000,
    "the conversation's desk state",
  );
}

describe("the desk setting", () => {
  it("is off by default, with its defaults shown, and takes partial changes", async () => {
    const tenant = await createTenant();
    const before = (await (await tenant.api("/v1/tenant")).json()) as {
      desk: Record<string, unknown>;
    };
    expect(before.desk).toMatchObject({
      enabled: false,
      time_zone: "Asia/Shanghai",
      handoff_keywords: ["人工", "客服", "agent", "human"],
      max_queue_seconds: 300,
      satisfaction_survey: false,
    });
    const after = await enableDesk(tenant, { max_queue_seconds: 60, handoff_menu_keys: ["KF"] });
    expect(after).toMatchObject({
      enabled: true,
      max_queue_seconds: 60,
      handoff_menu_keys: ["KF"],
      time_zone: "Asia/Shanghai",
    });
    expect(await auditActions(tenant.id)).toContain("tenant.update");
  });

  it("is served changed at once by the isolate that took the change (its cached copy dropped)", async () => {
    const tenant = await createTenant();
    expect((await deskSettingsFor(env, tenant.id)).enabled).toBe(false);
    await enableDesk(tenant, { handoff_keywords: ["转人工"] });
    const seen = await deskSettingsFor(env, tenant.id);
    expect(seen.enabled).toBe(true);
    expect(seen.handoffKeywords).toEqual(["转人工"]);
  });

  it("refuses an unknown zone and a span that ends before it starts, with pointers", async () => {
    const tenant = await createTenant();
    await expectProblem(
      await tenant.api("/v1/tenant", patch({ desk: { time_zone: "Mars/Base" } })),
      {
        status: 400,
        instance: "/v1/tenant",
        slug: "validation-error",
        pointers: ["/desk/time_zone"],
      },
    );
    await expectProblem(
      await tenant.api(
        "/v1/tenant",
        patch({ desk: { working_hours: { ...always, mon: [{ start: "18:00", end: "09:00" }] } } }),
      ),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/tenant",
        pointers: ["/desk/working_hours/mon/0/end"],
      },
    );
  });
});

describe("an SMS at the desk", () => {
  it("saying 人工 lands with the online agent, who replies (pending) and resolves it", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["conversation.created", "conversation.assigned", "conversation.resolved"],
    });
    await enableDesk(tenant, { working_hours: always });
    const agent = await onlineAgent(tenant);
    await textIn(tenant, "人工");
    const assigned = await conversationWhere(tenant, (c) => c.desk_state === "assigned");
    expect(assigned).toMatchObject({ agent_id: agent, service_window: null });

    const agents = (await (await tenant.api("/v1/desk/agents")).json()) as {
      data: { user_id: string; load: number; conversation_ids: string[] }[];
    };
    expect(agents.data).toEqual([
      expect.objectContaining({ user_id: agent, load: 1, conversation_ids: [assigned.id] }),
    ]);

    const reply = await tenant.api(
      `/v1/conversations/${assigned.id}/reply`,
      postJson({ body: "您好，请讲" }),
    );
    expect(reply.status).toBe(202);
    expect(await reply.json()).toMatchObject({ channel: "sms", direction: "outbound" });
    await conversationWhere(tenant, (c) => c.desk_state === "pending");

    const note = await tenant.api(
      `/v1/conversations/${assigned.id}/notes`,
      postJson({ body: "VIP" }),
    );
    expect(note.status).toBe(201);
    const resolved = await tenant.api(`/v1/conversations/${assigned.id}/resolve`, {
      method: "POST",
    });
    expect(resolved.status).toBe(200);
    expect(await resolved.json()).toEqual({
      id: assigned.id,
      desk_state: "resolved",
      agent_id: null,
    });

    const events = (await (await tenant.api(`/v1/conversations/${assigned.id}/events`)).json()) as {
      data: {
        type: string;
        from_state: string | null;
        to_state: string | null;
        detail: Record<string, unknown>;
      }[];
    };
    expect(events.data.map((e) => [e.type, e.from_state, e.to_state])).toEqual([
      ["state", null, "queued"],
      ["state", "queued", "assigned"],
      ["state", "assigned", "pending"],
      ["note", null, null],
      ["state", "pending", "resolved"],
    ]);
    const actions = await auditActions(tenant.id);
    expect(actions).toEqual(expect.arrayContaining(["desk_agent.update", "conversation.resolve"]));
    const hooks = await deliveriesOf(endpoint.id);
    expect(hooks.map((d) => d.event_type).sort()).toEqual([
      "conversation.assigned",
      "conversation.created",
      "conversation.resolved",
    ]);
    const resolvedEvent = hooks.find((d) => d.event_type === "conversation.resolved");
    expect(JSON.parse(resolvedEvent?.payload ?? "{}").data).toMatchObject({
      id: assigned.id,
      from_state: "pending",
      state: "resolved",
    });
  });

  it("at night becomes a left message (留言) answered with the after-hours text", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant, { working_hours: never, after_hours_answer: "已下班，明早回复您" });
    await onlineAgent(tenant);
    await textIn(tenant, "人工");
    const left = await conversationWhere(tenant, (c) => c.desk_state === "left_message");
    expect(left.agent_id).toBeNull();
    expect(Date.parse(left.due_at ?? "") - Date.now()).toBeGreaterThan(23 * HOUR);
    const answer = await eventually(
      async () =>
        (await env.DB.prepare("SELECT body, recipient FROM messages WHERE tenant_id = ?")
          .bind(tenant.id)
          .first<{ body: string; recipient: string }>()) ?? undefined,
      10_000,
      "the after-hours answer",
    );
    // The tenant's signature goes first, as on every message to a Chinese number.
    expect(answer).toEqual({ body: "【Relaybox】已下班，明早回复您", recipient: "+8613800138000" });
  });

  it("with no answer from the robot and no agent online becomes a left message", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant, { working_hours: always });
    await textIn(tenant, "my parcel is late");
    await conversationWhere(tenant, (c) => c.desk_state === "left_message");
  });

  it("lets an opt-out keyword and a robot's answer come before the desk", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant, { working_hours: always });
    await onlineAgent(tenant);
    const rule = await tenant.api(
      "/v1/auto-replies",
      postJson({ match: "exact", keyword: "价格", reply: { type: "text", content: "¥99" } }),
    );
    expect(rule.status).toBe(201);
    const handled = async (body: string, from: string) => {
      await textIn(tenant, body, from);
      return eventually(
        async () => {
          const row = await env.DB.prepare(
            "SELECT handling FROM inbound_messages WHERE tenant_id = ? AND sender = ? AND json_extract(handling, '$.done') = 1",
          )
            .bind(tenant.id, `+86${from}`)
            .first<{ handling: string }>();
          return row ? (JSON.parse(row.handling) as Record<string, unknown>) : undefined;
        },
        10_000,
        "the handling",
      );
    };
    const optOut = await handled("TD", "13800000011");
    expect(optOut.opt_out).toBeDefined();
    expect(optOut.desk).toBeUndefined();
    const robot = await handled("价格", "13800000012");
    expect(robot.auto_reply).toMatchObject({ message_id: expect.stringMatching(/^msg_/) });
    expect(robot.desk).toBeUndefined();
    expect(robot.desk_fallback).toBeUndefined();
    const { results } = await env.DB.prepare(
      "SELECT desk_state FROM conversations WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .all<{ desk_state: string }>();
    expect(results.map((r) => r.desk_state)).toEqual(["bot", "bot"]);
  });

  it("records a satisfaction digit after a resolution when the survey is on", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant, { working_hours: always, satisfaction_survey: true });
    await onlineAgent(tenant);
    await textIn(tenant, "agent");
    const assigned = await conversationWhere(tenant, (c) => c.desk_state === "assigned");
    await tenant.api(`/v1/conversations/${assigned.id}/resolve`, { method: "POST" });
    await textIn(tenant, "5");
    const scored = await conversationWhere(tenant, (c) => c.satisfaction === 5);
    expect(scored.desk_state).toBe("resolved");
  });
});

describe("assignment and transfer through the API", () => {
  it("holds capacities, refuses a full agent (409) and requeues a transfer for its skill", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant, { working_hours: always });
    const billing = await onlineAgent(tenant, 1); // skills: billing
    const { user } = await invite(tenant, "agent");
    const general = user.id;
    expect(
      (await tenant.api(`/v1/desk/agents/${general}`, patch({ status: "online", capacity: 1 })))
        .status,
    ).toBe(200);

    const arrive = async (from: string, count: number) => {
      await textIn(tenant, "人工", from);
      return eventually(
        async () => {
          const list = (await (await tenant.api("/v1/conversations")).json()) as {
            data: {
              id: string;
              counterpart: string;
              desk_state: string;
              agent_id: string | null;
            }[];
          };
          const queuedOrAssigned = list.data.filter((c) => c.desk_state !== "bot");
          return queuedOrAssigned.length === count
            ? list.data.find((c) => c.counterpart.endsWith(from.slice(-4)))
            : undefined;
        },
        10_000,
        "the handoff",
      );
    };
    const first = await arrive("13800000001", 1);
    const second = await arrive("13800000002", 2);
    const third = await arrive("13800000003", 3);
    // The longest idle first (the billing agent came online first), then the other.
    expect([first?.agent_id, second?.agent_id, third?.desk_state]).toEqual([
      billing,
      general,
      "queued",
    ]);

    const full = await tenant.api(
      `/v1/conversations/${third?.id}/assign`,
      postJson({ agent_id: billing }),
    );
    await expectProblem(full, {
      status: 409,
      slug: "conflict",
      instance: `/v1/conversations/${third?.id}/assign`,
      detail: /capacity/,
    });

    // The first goes back to the queue for billing: its slot takes the third (queued longest),
    // and the first waits for a billing agent.
    const moved = await tenant.api(
      `/v1/conversations/${first?.id}/transfer`,
      postJson({ skill: "billing" }),
    );
    expect(await moved.json()).toEqual({ id: first?.id, desk_state: "queued", agent_id: null });
    const queues = (await (await tenant.api("/v1/desk/queues")).json()) as {
      data: { skill: string | null; conversations: { id: string }[] }[];
    };
    expect(queues.data).toEqual([
      { skill: "billing", conversations: [expect.objectContaining({ id: first?.id })] },
    ]);
    const agents = (await (await tenant.api("/v1/desk/agents")).json()) as {
      data: { user_id: string; conversation_ids: string[] }[];
    };
    expect(Object.fromEntries(agents.data.map((a) => [a.user_id, a.conversation_ids]))).toEqual({
      [billing]: [third?.id],
      [general]: [second?.id],
    });
    expect(await auditActions(tenant.id)).toEqual(
      expect.arrayContaining(["conversation.transfer"]),
    );

    // The workspace's lists: the queue, and one agent's conversations.
    const ids = async (query: string) =>
      (
        (await (await tenant.api(`/v1/conversations?${query}`)).json()) as {
          data: { id: string }[];
        }
      ).data.map((c) => c.id);
    expect(await ids("desk_state=queued,left_message")).toEqual([first?.id]);
    expect(await ids(`agent_id=${general}&desk_state=assigned,pending`)).toEqual([second?.id]);
    expect((await tenant.api("/v1/conversations?desk_state=waiting")).status).toBe(400);
  });
});

describe("replies through the WeChat window", () => {
  it("shows the window's expiry and refuses a reply once it closed, suggesting a template", async () => {
    const tenant = await createTenant();
    const appId = await appWithFakeApi(tenant, fakeWeChat(() => ({ errcode: 0 })).fetch);
    await follower(tenant, appId, "oOpen", HOUR);
    await follower(tenant, appId, "oClosed", 49 * HOUR);
    const open = await insertConversation(tenant.id, { channel: "wechat", counterpart: "oOpen" });
    const closed = await insertConversation(tenant.id, {
      channel: "wechat",
      counterpart: "oClosed",
    });
    await insertInbound(
      tenant.id,
      { id: open, channel: "wechat", counterpart: "oOpen" },
      { body: "在吗", at: Date.now() - HOUR, to: appId },
    );
    await insertInbound(
      tenant.id,
      { id: closed, channel: "wechat", counterpart: "oClosed" },
      { body: "在吗", at: Date.now() - 49 * HOUR, to: appId },
    );

    const view = (await (await tenant.api(`/v1/conversations/${open}`)).json()) as Conversation;
    expect(view.service_window?.open).toBe(true);
    expect(
      Math.abs(Date.parse(view.service_window?.expires_at ?? "") - (Date.now() + 47 * HOUR)),
    ).toBeLessThan(60_000);
    const sent = await tenant.api(`/v1/conversations/${open}/reply`, postJson({ body: "在的" }));
    expect(sent.status).toBe(202);
    expect(await sent.json()).toMatchObject({ channel: "wechat", to: "oOpen" });

    const shut = (await (await tenant.api(`/v1/conversations/${closed}`)).json()) as Conversation;
    expect(shut.service_window?.open).toBe(false);
    await expectProblem(
      await tenant.api(`/v1/conversations/${closed}/reply`, postJson({ body: "sorry" })),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: `/v1/conversations/${closed}/reply`,
        detail: /window is closed.*template/,
        pointers: ["/body"],
      },
    );
  });
});

describe("desk security", () => {
  it("answers another tenant's conversation with a 404 and needs desk:supervise for the queues", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const theirs = await insertConversation(other.id, { counterpart: "+8613800000009" });
    await expectProblem(
      await tenant.api(`/v1/conversations/${theirs}/resolve`, { method: "POST" }),
      {
        status: 404,
        slug: "not-found",
        instance: `/v1/conversations/${theirs}/resolve`,
      },
    );
    const worker = await tenant.addKey(["desk:work"]);
    await expectProblem(await call("/v1/desk/queues", worker.key), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/desk/queues",
    });
    const { user } = await invite(tenant, "agent");
    // An API key is no agent: changing someone's capacity needs desk:supervise.
    await expectProblem(
      await call(`/v1/desk/agents/${user.id}`, worker.key, patch({ capacity: 9 })),
      { status: 403, slug: "forbidden", instance: `/v1/desk/agents/${user.id}` },
    );
    const analyst = (await invite(tenant, "analyst")).user.id;
    await expectProblem(
      await tenant.api(`/v1/desk/agents/${analyst}`, patch({ status: "online" })),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: `/v1/desk/agents/${analyst}`,
        detail: /desk:work/,
      },
    );
    const stranger = (await invite(other, "agent")).user.id;
    await expectProblem(
      await tenant.api(`/v1/desk/agents/${stranger}`, patch({ status: "online" })),
      { status: 404, slug: "not-found", instance: `/v1/desk/agents/${stranger}` },
    );
  });
});
