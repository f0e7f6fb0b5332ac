import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant, type TestTenant } from "../support/tenants";

const AGENT_A = "usr_AAAAAAAAAAAAAAAAAAAAAAAAAA";
const AGENT_B = "usr_BBBBBBBBBBBBBBBBBBBBBBBBBB";
const at = (time: string, day = "2026-12-07") => Date.parse(`${day}T${time}+08:00`);

type Move = [from: string | null, to: string, agent: string | null, time: string, extra?: object];

/** One conversation's scripted desk events, straight into the events table. */
async function script(
  tenant: TestTenant,
  n: number,
  moves: Move[],
  satisfaction?: [number, string],
) {
  const conversation = `cnv_${String(n).padStart(26, "0")}`;
  const statements = moves.map(([from, to, agent, time, extra], i) =>
    env.DB.prepare(
      `INSERT INTO conversation_events (id, tenant_id, conversation_id, type, from_state, to_state, agent_id, actor, detail, at)
       VALUES (?, ?, ?, 'state', ?, ?, ?, 'system', ?, ?)`,
    ).bind(
      `cev_${tenant.id}_${n}_${i}`,
      tenant.id,
      conversation,
      from,
      to,
      agent,
      JSON.stringify(extra ?? {}),
      at(time.split(" ")[0] ?? "", time.split(" ")[1]),
    ),
  );
  if (satisfaction) {
    statements.push(
      env.DB.prepare(
        `INSERT INTO conversation_events (id, tenant_id, conversation_id, type, actor, detail, at)
         VALUES (?, ?, ?, 'satisfaction', 'customer', ?, ?)`,
      ).bind(
        `cev_${tenant.id}_${n}_s`,
        tenant.id,
        conversation,
        JSON.stringify({ score: satisfaction[0] }),
        at(satisfaction[1]),
      ),
    );
  }
  await env.DB.batch(statements);
}

async function scriptedDay(): Promise<TestTenant> {
  const tenant = await createTenant();
  // A: straight to the agent, answered in 30 s, resolved after 10 min, rated 5.
  await script(
    tenant,
    1,
    [
      ["bot", "assigned", AGENT_A, "10:00:00"],
      ["assigned", "pending", AGENT_A, "10:00:30"],
      ["pending", "resolved", null, "10:10:00"],
    ],
    [5, "10:11:00"],
  );
  // A: queued a minute, answered 2 min after the hand-off, resolved after 20 min, rated 3.
  await script(
    tenant,
    2,
    [
      ["bot", "queued", null, "11:00:00"],
      ["queued", "assigned", AGENT_A, "11:01:00"],
      ["assigned", "pending", AGENT_A, "11:02:00"],
      ["pending", "resolved", null, "11:20:00"],
    ],
    [3, "11:25:00"],
  );
  // B: a left message due at 10:00, answered 09:31, resolved 09:40: on time.
  await script(tenant, 3, [
    [null, "left_message", null, "08:00:00", { reason: "after_hours", due_at: at("10:00:00") }],
    ["left_message", "assigned", AGENT_B, "09:30:00"],
    ["assigned", "pending", AGENT_B, "09:31:00"],
    ["pending", "resolved", null, "09:40:00"],
  ]);
  // B: a left message due at 07:30, resolved 09:05 without a reply: late, no first response.
  await script(tenant, 4, [
    ["bot", "left_message", null, "07:00:00", { reason: "no_agent", due_at: at("07:30:00") }],
    ["left_message", "assigned", AGENT_B, "09:00:00"],
    ["assigned", "resolved", null, "09:05:00"],
  ]);
  // Resolved the next day: outside the report.
  await script(tenant, 5, [
    ["bot", "assigned", AGENT_A, "23:00:00"],
    ["assigned", "resolved", null, "00:30:00 2026-12-08"],
  ]);
  return tenant;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const DAY = "from=2026-12-07T00:00:00%2B08:00&to=2026-12-08T00:00:00%2B08:00&tz=Asia/Shanghai";

describe("the desk report", () => {
  it("gives each agent's exact figures for a scripted day", async () => {
    const tenant = await scriptedDay();
    const res = await tenant.api(`/v1/desk/reports?${DAY}&group_by=agent`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: unknown[]; tz: string };
    expect(body.tz).toBe("Asia/Shanghai");
    expect(body.data).toEqual([
      {
        agent_id: AGENT_A,
        handled: 2,
        first_response_p50_seconds: 30,
        first_response_p90_seconds: 120,
        resolution_p50_seconds: 600,
        resolution_p90_seconds: 1200,
        left_messages: 0,
        left_messages_on_time: 0,
        satisfaction_average: 4,
        satisfaction_count: 2,
        inspection_average: null,
        inspection_count: 0,
      },
      {
        agent_id: AGENT_B,
        handled: 2,
        first_response_p50_seconds: 5460,
        first_response_p90_seconds: 5460,
        resolution_p50_seconds: 6000,
        resolution_p90_seconds: 7500,
        left_messages: 2,
        left_messages_on_time: 1,
        satisfaction_average: null,
        satisfaction_count: 0,
        inspection_average: null,
        inspection_count: 0,
      },
    ]);
  });

  it("groups the same day by day, in the zone asked for", async () => {
    const tenant = await scriptedDay();
    const res = await tenant.api(`/v1/desk/reports?${DAY}&group_by=day`);
    const body = (await res.json()) as { data: unknown[] };
    expect(body.data).toEqual([
      expect.objectContaining({
        day: "2026-12-07",
        handled: 4,
        first_response_p50_seconds: 120,
        first_response_p90_seconds: 5460,
        resolution_p50_seconds: 1200,
        resolution_p90_seconds: 7500,
        left_messages: 2,
        left_messages_on_time: 1,
        satisfaction_average: 4,
        satisfaction_count: 2,
      }),
    ]);
  });

  it("exports the rows as CSV", async () => {
    const tenant = await scriptedDay();
    const res = await tenant.api(`/v1/desk/reports/export?${DAY}&group_by=day`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await res.text()).toBe(
      "day,handled,first_response_p50_seconds,first_response_p90_seconds,resolution_p50_seconds,resolution_p90_seconds,left_messages,left_messages_on_time,satisfaction_average,satisfaction_count,inspection_average,inspection_count\r\n" +
        "2026-12-07,4,120,5460,1200,7500,2,1,4,2,,0\r\n",
    );
  });

  it("covers the last seven days in the desk's zone, today included, when from and to are left out", async () => {
    const tenant = await createTenant();
    const now = Date.now();
    const shanghai = (ms: number) => new Date(ms + 8 * HOUR_MS).toISOString();
    /** Conversation n resolved at `ms`, picked up by agent A a minute before. */
    const resolvedAt = (n: number, ms: number) => {
      const local = (t: number) => `${shanghai(t).slice(11, 19)} ${shanghai(t).slice(0, 10)}`;
      return script(tenant, n, [
        ["bot", "assigned", AGENT_A, local(ms - 60_000)],
        ["assigned", "resolved", null, local(ms)],
      ]);
    };
    await resolvedAt(1, now - 60_000);
    await resolvedAt(2, now - 3 * DAY_MS);
    await resolvedAt(3, now - 8 * DAY_MS);
    /** The end of today in Shanghai (UTC+8, no DST), as an instant. */
    const endOfToday = (ms: number) =>
      Date.parse(`${shanghai(ms + DAY_MS).slice(0, 10)}T00:00:00+08:00`);
    const before = endOfToday(Date.now());
    const res = await tenant.api("/v1/desk/reports");
    const after = endOfToday(Date.now());
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      from: string;
      to: string;
      tz: string;
      group_by: string;
      data: { agent_id: string; handled: number }[];
    };
    expect(body.tz).toBe("Asia/Shanghai");
    expect(body.group_by).toBe("agent");
    // Midnight may pass during the call: the end is today's as seen before or after it.
    expect([before, after]).toContain(Date.parse(body.to));
    expect(Date.parse(body.to) - Date.parse(body.from)).toBe(7 * DAY_MS);
    expect(body.data).toEqual([expect.objectContaining({ agent_id: AGENT_A, handled: 2 })]);

    // In another zone the days are that zone's: UTC's today ends at a UTC midnight.
    const utc = (await (await tenant.api("/v1/desk/reports?tz=UTC")).json()) as typeof body;
    expect(new Date(utc.to).toISOString().slice(11)).toBe("00:00:00.000Z");
    expect(Date.parse(utc.to) - Date.parse(utc.from)).toBe(7 * DAY_MS);
    expect(Date.parse(utc.to)).toBeGreaterThan(now);
    expect(Date.parse(utc.to) - DAY_MS).toBeLessThanOrEqual(Date.now());

    // Only `to`: the seven local days it ends.
    const ending = (await (
      await tenant.api("/v1/desk/reports?to=2026-12-08T00:00:00%2B08:00")
    ).json()) as typeof body;
    expect([ending.from, ending.to]).toEqual([
      "2026-11-30T16:00:00.000Z",
      "2026-12-07T16:00:00.000Z",
    ]);

    const csv = await tenant.api("/v1/desk/reports/export");
    expect(csv.status).toBe(200);
    const lines = (await csv.text()).split("\r\n");
    expect(lines[0]?.startsWith("agent,handled,")).toBe(true);
    expect(lines[1]?.startsWith(`${AGENT_A},2,`)).toBe(true);
  });

  it("counts a date bound from that day's start in the report's zone", async () => {
    const tenant = await scriptedDay();
    const dates = "from=2026-12-07&to=2026-12-08&group_by=day";
    const shanghai = (await (
      await tenant.api(`/v1/desk/reports?${dates}&tz=Asia/Shanghai`)
    ).json()) as { from: string; to: string; data: { handled: number }[] };
    expect([shanghai.from, shanghai.to]).toEqual([
      "2026-12-06T16:00:00.000Z",
      "2026-12-07T16:00:00.000Z",
    ]);
    expect(shanghai.data).toEqual([expect.objectContaining({ day: "2026-12-07", handled: 4 })]);
    // Without tz the desk's zone (Asia/Shanghai by default) decides, in the CSV as well.
    const csv = await (await tenant.api(`/v1/desk/reports/export?${dates}`)).text();
    expect(csv.split("\r\n")[1]).toBe("2026-12-07,4,120,5460,1200,7500,2,1,4,2,,0");
    // In UTC the same dates are other instants: the day's 00:30 resolution (16:30 UTC the 7th)
    // falls inside them.
    const utc = (await (await tenant.api(`/v1/desk/reports?${dates}&tz=UTC`)).json()) as {
      from: string;
      data: { handled: number }[];
    };
    expect(utc.from).toBe("2026-12-07T00:00:00.000Z");
    expect(utc.data.map((r) => r.handled)).toEqual([5]);
    await expectProblem(await tenant.api("/v1/desk/reports?from=2026-02-30"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/desk/reports",
      pointers: ["/query/from"],
    });
  });

  it("refuses a range that ends before it starts, and a zone that is none", async () => {
    const tenant = await createTenant();
    await expectProblem(await tenant.api("/v1/desk/reports?from=2026-12-08&to=2026-12-07"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/desk/reports",
      pointers: ["/query/to"],
    });
    await expectProblem(
      await tenant.api("/v1/desk/reports?from=2026-12-07&to=2026-12-08&tz=Mars/Base"),
      {
        status: 400,
        slug: "validation-error",
        instance: "/v1/desk/reports",
        pointers: ["/query/tz"],
      },
    );
  });
});
