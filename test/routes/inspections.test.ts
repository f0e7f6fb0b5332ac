import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signedIn } from "../support/dashboard";
import { expectProblem } from "../support/problem";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

const at = (time: string) => Date.parse(`2026-12-07T${time}+08:00`);

/** A conversation in `state`, handed to `agent` and (when resolved) resolved at 10:10. */
async function conversation(tenant: TestTenant, n: number, agent: string, state = "resolved") {
  const id = `cnv_${String(n).padStart(26, "0")}`;
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO conversations (id, tenant_id, channel, counterpart, last_activity_at, created_at, desk_state)
       VALUES (?, ?, 'sms', ?, ?, ?, ?)`,
    ).bind(id, tenant.id, `+86138000000${n}`, at("10:00:00"), at("10:00:00"), state),
    env.DB.prepare(
      `INSERT INTO conversation_events (id, tenant_id, conversation_id, type, from_state, to_state, agent_id, actor, detail, at)
       VALUES (?, ?, ?, 'state', 'bot', 'assigned', ?, 'system', '{}', ?)`,
    ).bind(`cev_${tenant.id}_${n}_0`, tenant.id, id, agent, at("10:00:00")),
    ...(state === "resolved"
      ? [
          env.DB.prepare(
            `INSERT INTO conversation_events (id, tenant_id, conversation_id, type, from_state, to_state, agent_id, actor, detail, at)
             VALUES (?, ?, ?, 'state', 'assigned', 'resolved', NULL, 'system', '{}', ?)`,
          ).bind(`cev_${tenant.id}_${n}_1`, tenant.id, id, at("10:10:00")),
        ]
      : []),
  ]);
  return id;
}

async function checklist(tenant: TestTenant) {
  const res = await tenant.api(
    "/v1/desk/checklists",
    postJson({
      name: "Basics",
      items: [
        { label: "Greets", points: 10 },
        { label: "Solves", points: 30 },
      ],
    }),
  );
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; items: { id: string; points: number }[] };
}

describe("quality inspection", () => {
  it("keeps checklists: create, read, edit keeping item ids, delete; each audited", async () => {
    const tenant = await createTenant();
    const made = await checklist(tenant);
    expect(made).toMatchObject({ name: "Basics", max_score: 40 });
    const [greet] = made.items;
    const edited = await tenant.api(`/v1/desk/checklists/${made.id}`, {
      ...postJson({
        name: "Basics 2",
        items: [
          { id: greet?.id, label: "Greets warmly", points: 5 },
          { label: "Closes", points: 5 },
        ],
      }),
      method: "PUT",
    });
    expect(edited.status).toBe(200);
    const body = (await edited.json()) as { items: { id: string }[]; max_score: number };
    expect(body.items[0]?.id).toBe(greet?.id);
    expect(body.max_score).toBe(10);
    expect((await tenant.api(`/v1/desk/checklists/${made.id}`, { method: "DELETE" })).status).toBe(
      204,
    );
    await expectProblem(await tenant.api(`/v1/desk/checklists/${made.id}`), {
      status: 404,
      slug: "not-found",
      instance: `/v1/desk/checklists/${made.id}`,
    });
    const audit = await env.DB.prepare(
      "SELECT action FROM audit_entries WHERE tenant_id = ? AND target = ? ORDER BY seq",
    )
      .bind(tenant.id, made.id)
      .all<{ action: string }>();
    expect(audit.results.map((r) => r.action)).toEqual([
      "checklist.create",
      "checklist.update",
      "checklist.delete",
    ]);
  });

  it("scores a resolved conversation for the agent who had it, once per checklist", async () => {
    const tenant = await createTenant();
    const list = await checklist(tenant);
    const id = await conversation(tenant, 1, "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA");
    const items = list.items.map((i) => ({ item_id: i.id, points: i.points - 1 }));
    const res = await tenant.api(
      `/v1/conversations/${id}/inspections`,
      postJson({ checklist_id: list.id, items, comment: "Good" }),
    );
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      conversation_id: id,
      agent_id: "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA",
      score: 38,
      max_score: 40,
      comment: "Good",
    });
    await expectProblem(
      await tenant.api(
        `/v1/conversations/${id}/inspections`,
        postJson({ checklist_id: list.id, items }),
      ),
      { status: 409, slug: "conflict", instance: `/v1/conversations/${id}/inspections` },
    );
    // The report counts a score on the day it was given.
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const report = (await (
      await tenant.api(`/v1/desk/reports?from=${from}&to=${to}&group_by=agent`)
    ).json()) as { data: { inspection_count: number; inspection_average: number | null }[] };
    expect(report.data).toEqual([
      expect.objectContaining({ inspection_count: 1, inspection_average: 95 }),
    ]);
  });

  it("refuses points over an item's, an unknown checklist and an unresolved conversation", async () => {
    const tenant = await createTenant();
    const list = await checklist(tenant);
    const id = await conversation(tenant, 2, "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA");
    const path = `/v1/conversations/${id}/inspections`;
    await expectProblem(
      await tenant.api(
        path,
        postJson({
          checklist_id: list.id,
          items: [
            { item_id: list.items[0]?.id, points: 11 },
            { item_id: list.items[1]?.id, points: 30 },
          ],
        }),
      ),
      { status: 422, slug: "unprocessable-entity", instance: path, pointers: ["/items/0/points"] },
    );
    await expectProblem(
      await tenant.api(
        path,
        postJson({ checklist_id: "chk_00000000000000000000000000", items: [] }),
      ),
      { status: 422, slug: "unprocessable-entity", instance: path, pointers: ["/checklist_id"] },
    );
    const open = await conversation(tenant, 3, "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA", "assigned");
    await expectProblem(
      await tenant.api(
        `/v1/conversations/${open}/inspections`,
        postJson({ checklist_id: list.id, items: [] }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: `/v1/conversations/${open}/inspections`,
        detail: /resolved/,
      },
    );
    const count = await env.DB.prepare("SELECT count(*) AS n FROM inspections WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(0);
  });

  it("fills the queue with the sample, at least one per agent-day, without the scored ones", async () => {
    const tenant = await createTenant();
    const list = await checklist(tenant);
    const a = await conversation(tenant, 10, "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA");
    const b = await conversation(tenant, 11, "usr_BBBBBBBBBBBBBBBBBBBBBBBBBB");
    const queuePath = "/v1/desk/inspections/queue?from=2026-12-07&to=2026-12-08";
    const queue = (await (await tenant.api(queuePath)).json()) as {
      data: { conversation_id: string; agent_id: string; day: string }[];
    };
    expect(queue.data.map((q) => q.conversation_id).sort()).toEqual([a, b]);
    expect(queue.data[0]?.day).toBe("2026-12-07");
    await tenant.api(
      `/v1/conversations/${a}/inspections`,
      postJson({
        checklist_id: list.id,
        items: list.items.map((i) => ({ item_id: i.id, points: 0 })),
      }),
    );
    const after = (await (await tenant.api(queuePath)).json()) as {
      data: { conversation_id: string }[];
    };
    expect(after.data.map((q) => q.conversation_id)).toEqual([b]);
  });

  it("shows an agent only their own scores and an inspector everyone's; others get 403", async () => {
    const tenant = await createTenant();
    const agent = await signedIn(tenant, "agent");
    const inspector = await signedIn(tenant, "inspector");
    const list = await checklist(tenant);
    const mine = await conversation(tenant, 20, agent.user.id);
    const theirs = await conversation(tenant, 21, "usr_BBBBBBBBBBBBBBBBBBBBBBBBBB");
    const inspectorKey = await tenant.addKey(["desk:inspect", "inbound:read"]);
    for (const id of [mine, theirs]) {
      const res = await call(
        `/v1/conversations/${id}/inspections`,
        inspectorKey.key,
        postJson({
          checklist_id: list.id,
          items: list.items.map((i) => ({ item_id: i.id, points: 1 })),
        }),
      );
      expect(res.status).toBe(201);
    }
    const asAgent = (await (
      await call("/v1/desk/inspections", null, { headers: { cookie: agent.cookie } })
    ).json()) as { data: { conversation_id: string }[] };
    expect(asAgent.data.map((i) => i.conversation_id)).toEqual([mine]);
    await expectProblem(
      await call("/v1/desk/inspections?agent_id=usr_BBBBBBBBBBBBBBBBBBBBBBBBBB", null, {
        headers: { cookie: agent.cookie },
      }),
      { status: 403, slug: "forbidden", instance: "/v1/desk/inspections" },
    );
    const asInspector = (await (
      await call("/v1/desk/inspections", null, { headers: { cookie: inspector.cookie } })
    ).json()) as { data: unknown[] };
    expect(asInspector.data).toHaveLength(2);
    const agentKey = await tenant.addKey(["desk:work", "inbound:read"]);
    await expectProblem(
      await call(
        `/v1/conversations/${mine}/inspections`,
        agentKey.key,
        postJson({ checklist_id: list.id, items: [] }),
      ),
      { status: 403, slug: "forbidden", instance: `/v1/conversations/${mine}/inspections` },
    );
  });

  it("answers another tenant's checklist and conversation with 404", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const list = await checklist(other);
    const id = await conversation(other, 30, "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA");
    await expectProblem(await tenant.api(`/v1/desk/checklists/${list.id}`), {
      status: 404,
      slug: "not-found",
      instance: `/v1/desk/checklists/${list.id}`,
    });
    await expectProblem(
      await tenant.api(
        `/v1/conversations/${id}/inspections`,
        postJson({ checklist_id: list.id, items: [] }),
      ),
      { status: 404, slug: "not-found", instance: `/v1/conversations/${id}/inspections` },
    );
  });
});
