import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deskOf } from "../../src/delivery/desk";
import { noteMessagesChanged } from "../../src/delivery/live-updates";
import { signedIn } from "../support/dashboard";
import { createTenant } from "../support/tenants";

type Event = { type: string; count?: number };

async function openFeed(cookie: string, path = "/dashboard/live/messages") {
  const res = await SELF.fetch(`https://example.com${path}`, {
    headers: { Upgrade: "websocket", cookie },
  });
  expect(res.status).toBe(101);
  const socket = res.webSocket;
  if (!socket) {
    throw new Error("no socket");
  }
  const received: Event[] = [];
  socket.addEventListener("message", (event) => {
    received.push(JSON.parse(String(event.data)));
  });
  socket.accept();
  return { socket, received };
}

/** Waits (polling, up to 5 s) for a condition: no assertion on how long it took. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  expect(check()).toBe(true);
}

const changed = (events: Event[]) => events.filter((e) => e.type === "messages.changed");

describe("the live message feed", () => {
  it("tells the desk once for a burst of 5,000 changes in one isolate's window", async () => {
    const calls: number[] = [];
    const fakeEnv = {
      DESK: {
        idFromName: (name: string) => name,
        get: () => ({
          messagesChanged: async (_tenantId: string, count: number) => {
            calls.push(count);
            return { watching: true };
          },
        }),
      },
    } as unknown as Env;
    const now = 1_000_000;
    for (let i = 0; i < 5_000; i++) {
      await noteMessagesChanged(fakeEnv, ["tnt_BURST"], now + (i % 900));
    }
    expect(calls).toEqual([1]);
    // The next window's first change carries the count held back.
    await noteMessagesChanged(fakeEnv, ["tnt_BURST"], now + 1_000);
    expect(calls).toEqual([1, 5_000]);
  });

  it("turns a burst of notes into at most one messages.changed a second for an open page, and none for the desk's sockets", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "analyst");
    const feed = await openFeed(cookie);
    await until(() => feed.received.some((e) => e.type === "hello"));
    const desk = deskOf(env, tenant.id);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 300 }, () => desk.messagesChanged(tenant.id, 10)),
    );
    const burstMs = Date.now() - started;
    expect(results.every((r) => r.watching)).toBe(true);
    await until(() => changed(feed.received).length >= 1);
    // A quiet spell after the burst (past the last note's window): whatever was owed has come.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    // One broadcast per second of burst at most, plus the one that covers the last note's window.
    const broadcasts = changed(feed.received);
    expect(broadcasts.length).toBeGreaterThanOrEqual(1);
    expect(broadcasts.length).toBeLessThanOrEqual(Math.ceil(burstMs / 1_000) + 2);
    expect(broadcasts.reduce((sum, e) => sum + (e.count ?? 0), 0)).toBe(3_000);
    // The desk's own events are not the message pages' business.
    await desk.publish(tenant.id, { type: "message.received", n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(feed.received.some((e) => e.type === "message.received")).toBe(false);
    feed.socket.close(1000, "bye");
  });

  it("costs nothing with no page open", async () => {
    const tenant = await createTenant();
    expect(await deskOf(env, tenant.id).messagesChanged(tenant.id, 5)).toEqual({ watching: false });
  });

  it("announces a sent message to an open page (status writer → desk → page)", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "analyst");
    const feed = await openFeed(cookie);
    await until(() => feed.received.some((e) => e.type === "hello"));
    const sent = await tenant.api("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ to: "+8613800138000", body: "live" }),
    });
    expect(sent.status).toBe(202);
    await until(() => changed(feed.received).length >= 1);
    feed.socket.close(1000, "bye");
  });

  it("refuses a cross-site page and a request that is no upgrade", async () => {
    const tenant = await createTenant();
    const { cookie } = await signedIn(tenant, "analyst");
    const hijack = await SELF.fetch("https://example.com/dashboard/live/messages", {
      headers: { Upgrade: "websocket", cookie, origin: "https://evil.example" },
    });
    expect(hijack.status).toBe(403);
    const plain = await SELF.fetch("https://example.com/dashboard/live/messages", {
      headers: { cookie },
    });
    expect(plain.status).toBe(400);
  });
});
