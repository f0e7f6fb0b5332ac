/**
 * Quiet hours at release time: the dispatcher holds marketing whose recipient's country is inside
 * the tenant's quiet hours, whenever it was accepted, and releases it when the window ends. The
 * dispatcher's clock is swapped for a test clock so that "21:00 in London" can be any day.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { BatchRecord, OutboxMessage } from "../../src/delivery/dispatcher-types";
import type { QuietHours } from "../../src/domain/quiet-hours";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { acceptRequest, isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage, statusOf } from "../support/messages";

const NIGHT: QuietHours = { start: "21:00", end: "08:00" };
const LONDON = "Europe/London";

/** The first moment after `after` when the wall clock in `zone` reads `hh:mm:ss`. */
function nextLocal(zone: string, clock: string, after: number): number {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  });
  const [hhmm, seconds] = [clock.slice(0, 5), Number(clock.slice(6) || 0)];
  let minute = after - (after % 60_000) + 60_000;
  while (format.format(minute) !== hhmm) {
    minute += 60_000;
  }
  return minute + seconds * 1000;
}

/** A dispatcher with the tenant's quiet hours in its D1 row, and a clock the test sets. */
async function quietDispatcher(quietHours: QuietHours | null, sendRate = 100) {
  const dispatcher = await isolatedDispatcher(sendRate);
  await env.DB.prepare("UPDATE tenants SET quiet_hours = ? WHERE id = ?")
    .bind(JSON.stringify(quietHours), dispatcher.tenant.id)
    .run();
  const clock = { now: Date.now() };
  await runInDurableObject(dispatcher.stub, (instance: TenantDispatcher) => {
    Object.defineProperty(instance, "clock", { value: () => clock.now });
  });
  const alarmAt = () =>
    runInDurableObject(dispatcher.stub, (_instance: TenantDispatcher, state) =>
      state.storage.getAlarm(),
    );
  const states = async (ids: string[]) => {
    const rows = await dispatcher.sql<{ id: string; state: string }>(
      "SELECT id, state FROM outbox",
    );
    const byId = new Map(rows.map((row) => [row.id, row.state]));
    return ids.map((id) => byId.get(id));
  };
  return { ...dispatcher, clock, alarmAt, states };
}

/** The send log's status and reason for each message, in the order of `ids`. */
async function logged(ids: string[]) {
  const { results } = await env.DB.prepare(
    `SELECT id, status, status_reason FROM messages WHERE id IN (${ids.map(() => "?").join(",")})`,
  )
    .bind(...ids)
    .all<{ id: string; status: string; status_reason: string | null }>();
  const byId = new Map(results.map(({ id, ...rest }) => [id, rest]));
  return ids.map((id) => byId.get(id));
}

function marketing(tenantId: string, n: number, overrides: Partial<OutboxMessage> = {}) {
  return outboxMessage(tenantId, `+4474001234${String(n).padStart(2, "0")}`, {
    kind: "marketing",
    lane: "bulk",
    country: "GB",
    ...overrides,
  });
}

function marketingBatch(tenantId: string, batchId: string, count: number) {
  const messages = Array.from({ length: count }, (_, n) => marketing(tenantId, n, { batchId }));
  const record: BatchRecord = {
    id: batchId,
    tenantId,
    templateId: null,
    templateVersion: null,
    kind: "marketing",
    mode: "test",
    accepted: count,
    rejected: 0,
    sendAt: Date.now(),
    createdAt: Date.now(),
    canceledAt: null,
  };
  return { messages, record };
}

describe("quiet hours at release time", () => {
  it("holds a marketing batch still draining when quiet hours start, and releases it when they end", async () => {
    // 10 msg/s: two per tick.
    const { tenant, stub, queue, runAlarm, clock, alarmAt, states } = await quietDispatcher(
      NIGHT,
      10,
    );
    const evening = nextLocal(LONDON, "20:59:50", Date.now());
    clock.now = evening;
    const { messages, record } = marketingBatch(tenant.id, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VQ1", 6);
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    expect(queue.sent).toEqual([messages[0]?.id, messages[1]?.id]);
    await stub.reportResults(messages.slice(0, 2).map((m) => ({ id: m.id, outcome: "final" })));

    // 21:00:10 in London: the rest waits, and the alarm is set for 08:00 there.
    clock.now = evening + 20_000;
    await runAlarm();
    expect(queue.sent).toHaveLength(2);
    const rest = messages.slice(2).map((m) => m.id);
    expect(await states(rest)).toEqual(["held", "held", "held", "held"]);
    // The send log has them, and shows why they wait (still queued: statuses only move forward).
    const waiting = { status: "queued", status_reason: "quiet_hours" };
    expect(await logged(rest)).toEqual([waiting, waiting, waiting, waiting]);
    const morning = nextLocal(LONDON, "08:00:00", evening);
    expect(await alarmAt()).toBe(morning);

    clock.now = morning;
    await runAlarm();
    expect(queue.sent).toEqual(messages.slice(0, 4).map((m) => m.id));
    const queued = { status: "queued", status_reason: null };
    expect(await logged(rest)).toEqual([queued, queued, queued, queued]);
    clock.now = morning + 200;
    await runAlarm();
    expect(queue.sent).toEqual(messages.map((m) => m.id));
  });

  it("logs and releases a batch held since its commit when quiet hours end, nothing else waking the dispatcher", async () => {
    const { tenant, stub, queue, runAlarm, clock, alarmAt, states } = await quietDispatcher(
      NIGHT,
      10,
    );
    clock.now = nextLocal(LONDON, "21:30:00", Date.now());
    const { messages, record } = marketingBatch(tenant.id, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VQ3", 3);
    await stub.stageBatch({ tenantId: tenant.id, messages });
    expect(await stub.commitBatch(record, 0)).toBe("committed");
    await runAlarm();
    expect(await states(messages.map((m) => m.id))).toEqual(["held", "held", "held"]);
    const morning = nextLocal(LONDON, "08:00:00", clock.now);
    expect(await alarmAt()).toBe(morning);

    // Put back, but not in the send log yet, so this run releases nothing: the next one logs them.
    clock.now = morning;
    await runAlarm();
    expect(queue.sent).toEqual([]);
    const next = await alarmAt();
    expect(next).not.toBeNull();
    expect(next).toBeLessThanOrEqual(morning + 100);
    clock.now = morning + 100;
    await runAlarm();
    expect(queue.sent).toEqual([messages[0]?.id, messages[1]?.id]);
  });

  it("holds only marketing, and only to countries inside their quiet hours", async () => {
    const { tenant, accept, queue, runAlarm, clock, states } = await quietDispatcher(NIGHT);
    // 21:00:10 in London is 16:00 or 17:00 in New York and 11:00 or 12:00 in Honolulu.
    clock.now = nextLocal(LONDON, "21:00:10", Date.now());
    const toGb = marketing(tenant.id, 1);
    // Without `country` the dispatcher reads it from the number.
    const toGbNumberOnly = marketing(tenant.id, 2, { country: undefined });
    const toUs = marketing(tenant.id, 3, { recipient: "+12025550143", country: "US" });
    const notice = outboxMessage(tenant.id, "+447400123494", { lane: "bulk" });
    const code = outboxMessage(tenant.id, "+447400123495", { kind: "verification" });
    for (const message of [toGb, toGbNumberOnly, toUs, notice, code]) {
      await accept(message);
    }
    await runAlarm();
    expect(new Set(queue.sent)).toEqual(new Set([toUs.id, notice.id, code.id]));
    expect(await states([toGb.id, toGbNumberOnly.id])).toEqual(["held", "held"]);
  });

  it("applies new quiet hours from configure() at once, and releases what they no longer cover", async () => {
    const { tenant, stub, accept, queue, runAlarm, clock, states } = await quietDispatcher(null);
    clock.now = nextLocal(LONDON, "21:30:00", Date.now());
    await stub.configure({ tenantId: tenant.id, quietHours: NIGHT });
    const first = marketing(tenant.id, 1);
    await accept(first);
    await runAlarm();
    expect(queue.sent).toEqual([]);
    expect(await states([first.id])).toEqual(["held"]);

    // The send rate is left as it was.
    await stub.configure({ tenantId: tenant.id, quietHours: { start: "22:00", end: "07:00" } });
    clock.now += 1000;
    await runAlarm();
    expect(queue.sent).toEqual([first.id]);
    await stub.reportResults([{ id: first.id, outcome: "final" }]);

    // Turned off: a message held in the meantime goes at once.
    const second = marketing(tenant.id, 2);
    clock.now = nextLocal(LONDON, "23:00:00", clock.now);
    await accept(second);
    await runAlarm();
    expect(await states([second.id])).toEqual(["held"]);
    await stub.configure({ tenantId: tenant.id, quietHours: null });
    clock.now += 1000;
    await runAlarm();
    expect(queue.sent).toEqual([first.id, second.id]);
  });

  it("holds marketing accepted inside the quiet hours from the start, and says until when", async () => {
    const { tenant, stub, queue, runAlarm, clock, states } = await quietDispatcher(NIGHT);
    clock.now = nextLocal(LONDON, "23:00:00", Date.now());
    const message = marketing(tenant.id, 1, { createdAt: clock.now, sendAt: clock.now });

    const result = await stub.accept(acceptRequest(message, "promo-1", "h"));

    const morning = nextLocal(LONDON, "08:00:00", clock.now);
    expect(result).toMatchObject({
      kind: "accepted",
      response: { status: "scheduled", send_at: new Date(morning).toISOString() },
    });
    expect(await states([message.id])).toEqual(["held"]);
    expect(await stub.peek(message.id)).toMatchObject({ heldUntil: morning, canceled: false });
    // Not logged while held, so never shown as queued in between.
    await runAlarm();
    expect(await statusOf(message.id)).toBeUndefined();
    // Its idempotency key replays the same answer.
    expect(await stub.accept(acceptRequest(message, "promo-1", "h"))).toMatchObject({
      kind: "replayed",
      response: { status: "scheduled", send_at: new Date(morning).toISOString() },
    });

    await stub.configure({ tenantId: tenant.id, quietHours: null });
    clock.now += 1000;
    await runAlarm();
    expect(queue.sent).toEqual([message.id]);
    expect(await logged([message.id])).toEqual([{ status: "queued", status_reason: null }]);
  });

  it("holds a marketing batch committed inside the quiet hours before any of it is logged", async () => {
    const { tenant, stub, queue, runAlarm, clock, states } = await quietDispatcher(NIGHT);
    clock.now = nextLocal(LONDON, "23:00:00", Date.now());
    const { messages, record } = marketingBatch(tenant.id, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VQ3", 3);
    await stub.stageBatch({ tenantId: tenant.id, messages });

    expect(await stub.commitBatch(record, 0)).toBe("committed");

    const ids = messages.map((m) => m.id);
    expect(await states(ids)).toEqual(["held", "held", "held"]);
    await runAlarm();
    expect(queue.sent).toEqual([]);
    expect(await logged(ids)).toEqual([undefined, undefined, undefined]);
  });

  it("cancels held messages, in the send log or not yet, and never releases them", async () => {
    const { tenant, stub, accept, queue, runAlarm, clock, sql } = await quietDispatcher(NIGHT);
    // Due just before the quiet hours: in the send log ahead of its time, then held.
    const evening = nextLocal(LONDON, "20:59:50", Date.now());
    clock.now = evening;
    const logged = marketing(tenant.id, 1, { sendAt: evening + 4_000 });
    await accept(logged);
    await runAlarm();
    expect(await statusOf(logged.id)).toBe("scheduled");
    const night = nextLocal(LONDON, "23:00:00", evening);
    clock.now = night;
    // Accepted inside them: held at once, and not in the send log.
    const unlogged = marketing(tenant.id, 2, { sendAt: night });
    const { messages, record } = marketingBatch(tenant.id, "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VQ2", 3);
    await accept(unlogged);
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.commitBatch(record, 0);
    await runAlarm();
    const held = await sql<{ id: string; logged: number }>(
      "SELECT id, logged FROM outbox WHERE state = 'held' ORDER BY seq",
    );
    expect(held.map((row) => row.id)).toEqual([
      logged.id,
      unlogged.id,
      ...messages.map((m) => m.id),
    ]);
    expect(held.find((row) => row.id === unlogged.id)?.logged).toBe(0);

    expect(await stub.cancel(logged.id)).toEqual({ kind: "canceled" });
    expect(await stub.cancel(unlogged.id)).toEqual({ kind: "canceled" });
    expect(await stub.cancelBatch(record.id)).toBe(3);
    await runAlarm();
    clock.now = nextLocal(LONDON, "08:00:00", night);
    await runAlarm();
    expect(queue.sent).toEqual([]);
    for (const id of [logged.id, unlogged.id, ...messages.map((m) => m.id)]) {
      expect(await statusOf(id)).toBe("canceled");
    }
    expect(await sql("SELECT id FROM outbox")).toEqual([]);
  });
});
