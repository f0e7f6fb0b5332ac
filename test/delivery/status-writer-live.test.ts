import { env, SELF } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { forgetNotes } from "../../src/delivery/live-updates";
import {
  cancelLogged,
  claimForSending,
  expireOverdue,
  failUnlessDone,
} from "../../src/delivery/status-writer";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { signedIn } from "../support/dashboard";
import { outboxMessage } from "../support/messages";
import { createTenant } from "../support/tenants";

/** The env with a desk that records what it is told, per tenant. */
function watchedEnv() {
  const told: { tenantId: string; count: number }[] = [];
  const desk = {
    idFromName: (name: string) => name,
    get: () => ({
      messagesChanged: async (tenantId: string, count: number) => {
        told.push({ tenantId, count });
        return { watching: true };
      },
    }),
  };
  return { env: { ...env, DESK: desk } as unknown as Env, told };
}

/** Waits (polling, up to 5 s) for a condition: no assertion on how long it took. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

/** Lets what the writes handed to waitUntil run, then returns what a tenant's desk was told. */
async function settled(told: { tenantId: string; count: number }[], tenantId: string) {
  await new Promise((resolve) => setTimeout(resolve, 50));
  return told.filter((t) => t.tenantId === tenantId);
}

async function logged(tenantId: string, to: string): Promise<string> {
  const message = outboxMessage(tenantId, to, { mode: "live" });
  await logMessages(env.DB, [message]);
  return message.id;
}

beforeEach(() => {
  forgetNotes();
});

describe("the status writer's notes for the live message list", () => {
  it("tells the desk of a claim (queued → sending)", async () => {
    const tenant = await createTenant();
    const { env: watched, told } = watchedEnv();
    const id = await logged(tenant.id, "+8613800138101");
    const [row] = await claimForSending(
      watched,
      watched.DB,
      [id],
      "claim-live",
      Date.now(),
      60_000,
    );
    expect(row?.status).toBe("sending");
    await until(() => told.some((t) => t.tenantId === tenant.id));
    expect(told).toEqual([{ tenantId: tenant.id, count: 1 }]);
  });

  it("tells the desk of a cancel, and not of a cancel that moved nothing", async () => {
    const tenant = await createTenant();
    const { env: watched, told } = watchedEnv();
    const id = await logged(tenant.id, "+8613800138102");
    expect(await cancelLogged(watched, watched.DB, { ids: [id] }, Date.now())).toBe(1);
    await until(() => told.length > 0);
    expect(told).toEqual([{ tenantId: tenant.id, count: 1 }]);

    forgetNotes();
    expect(await cancelLogged(watched, watched.DB, { ids: [id] }, Date.now())).toBe(0);
    expect(await settled(told, tenant.id)).toHaveLength(1);
  });

  it("tells the desk of an expiry (sent → expired), with how many expired", async () => {
    const tenant = await createTenant();
    const { env: watched, told } = watchedEnv();
    const now = Date.now();
    const ids = [
      await logged(tenant.id, "+8613800138103"),
      await logged(tenant.id, "+8613800138104"),
    ];
    await env.DB.prepare(
      "UPDATE messages SET status = 'sent', sent_at = ? WHERE id IN (SELECT value FROM json_each(?))",
    )
      .bind(now - 60_000, JSON.stringify(ids))
      .run();
    expect(await expireOverdue(watched, watched.DB, tenant.id, now, 2_000)).toBeNull();
    await until(() => told.length > 0);
    expect(told).toEqual([{ tenantId: tenant.id, count: 2 }]);

    forgetNotes();
    await expireOverdue(watched, watched.DB, tenant.id, now, 2_000);
    expect(await settled(told, tenant.id)).toHaveLength(1);
  });

  it("tells the desk of a dead letter's failure, and not of one that found the message done", async () => {
    const tenant = await createTenant();
    const { env: watched, told } = watchedEnv();
    const id = await logged(tenant.id, "+8613800138105");
    expect(await failUnlessDone(watched, watched.DB, id, "dead-lettered", Date.now())).toEqual({
      kind: "failed",
    });
    await until(() => told.length > 0);
    expect(told).toEqual([{ tenantId: tenant.id, count: 1 }]);

    forgetNotes();
    expect(await failUnlessDone(watched, watched.DB, id, "dead-lettered", Date.now())).toEqual({
      kind: "done",
    });
    expect(await settled(told, tenant.id)).toHaveLength(1);
  });

  it("keeps a burst of writes to at most one note a second per tenant, the count held back", async () => {
    const tenant = await createTenant();
    const { env: watched, told } = watchedEnv();
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      ids.push(await logged(tenant.id, `+86138001382${String(i).padStart(2, "0")}`));
    }
    const started = Date.now();
    for (const id of ids) {
      await claimForSending(watched, watched.DB, [id], `claim-${id}`, Date.now(), 60_000);
    }
    const burstMs = Date.now() - started;
    const notes = await settled(told, tenant.id);
    expect(notes.length).toBeGreaterThanOrEqual(1);
    expect(notes.length).toBeLessThanOrEqual(Math.ceil(burstMs / 1_000) + 1);
    // The first claim is told at once; the rest wait in this isolate's count for the next window.
    expect(notes[0]).toEqual({ tenantId: tenant.id, count: 1 });
    expect(notes.reduce((sum, t) => sum + t.count, 0)).toBeLessThanOrEqual(60);
  });
});

describe("the dispatcher's send-log flush", () => {
  it("announces a newly accepted message to an open page, before any send", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "analyst");
    const res = await SELF.fetch("https://example.com/dashboard/live/messages", {
      headers: { Upgrade: "websocket", cookie },
    });
    expect(res.status).toBe(101);
    const socket = res.webSocket;
    if (!socket) {
      throw new Error("no socket");
    }
    const received: { type: string }[] = [];
    socket.addEventListener("message", (event) => {
      received.push(JSON.parse(String(event.data)));
    });
    socket.accept();
    await until(() => received.some((e) => e.type === "hello"));
    // Scheduled an hour ahead: the flush writes it to the send log now, and nothing sends it.
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const accepted = await tenant.api("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: "+8613800138000", body: "later", send_at: sendAt }),
    });
    expect(accepted.status).toBe(202);
    await until(() => received.some((e) => e.type === "messages.changed"));
    const row = await env.DB.prepare("SELECT status FROM messages WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("scheduled");
    socket.close(1000, "bye");
  });
});
