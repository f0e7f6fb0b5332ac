import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimForSending, recordAttempts } from "../../src/delivery/status-writer";
import type { WebhookJob } from "../../src/delivery/webhook-payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { acceptStatusCallback } from "../../src/services/carriers/receipts";
import { outboxMessage, statusOf } from "../support/messages";
import { createTenant } from "../support/tenants";
import { createEndpoint } from "../support/webhooks";

/**
 * A D1Database whose first look-up of messages by carrier id that finds nothing runs `meanwhile`
 * before it answers: whatever `meanwhile` commits lands between that look-up and whatever the
 * caller does next, the window a real consumer's write can fall into.
 */
function racingD1(db: D1Database, meanwhile: () => Promise<void>): D1Database {
  let raced = false;
  const answer = async <T>(result: T, empty: boolean): Promise<T> => {
    if (empty && !raced) {
      raced = true;
      await meanwhile();
    }
    return result;
  };
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === "bind") {
          return (...args: unknown[]) => wrap(target.bind(...args));
        }
        if (prop === "all") {
          return async () => {
            const result = await target.all();
            return answer(result, result.results.length === 0);
          };
        }
        if (prop === "raw") {
          return async () => {
            const rows = await target.raw();
            return answer(rows, rows.length === 0);
          };
        }
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const statement = target.prepare(query);
          const byCarrierId =
            /from "messages"/i.test(query) && /"provider_message_id" in/i.test(query);
          return byCarrierId ? wrap(statement) : statement;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("a receipt whose send is recorded between its look-up and its hold", () => {
  it("still makes the message delivered, and queues one message.delivered event", async () => {
    const tenant = await createTenant();
    const put = await tenant.api("/v1/providers/tencent", {
      method: "PUT",
      body: JSON.stringify({
        config: {
          secret_id: "AKIDexample00",
          sms_sdk_app_id: "1400006666",
          sign_name: "Relaybox",
        },
        credentials: { secret_key: "tencent-secret-0123" },
      }),
    });
    expect(put.status).toBe(201);
    const { callback_urls } = (await put.json()) as {
      callback_urls: { status: string };
    };
    await createEndpoint(tenant, { events: ["message.delivered"] });
    const message = outboxMessage(tenant.id, "+8613800138602", {
      mode: "live",
    });
    await logMessages(env.DB, [message]);
    const [claimed] = await claimForSending(
      env,
      env.DB,
      [message.id],
      "claim-race",
      Date.now(),
      60_000,
    );
    expect(claimed?.status).toBe("sending");
    if (!claimed) {
      throw new Error("the message was not claimed");
    }
    const serial = "2028:race0000000000001";

    // The consumer records the send just after the receipt's look-up missed it.
    const recordTheSend = async () => {
      await recordAttempts(env, env.DB, [
        {
          message: claimed,
          attempt: {
            attemptId: "att_race1",
            claimId: "claim-race",
            messageId: message.id,
            tenantId: tenant.id,
            attempt: 1,
            provider: "tencent",
            outcome: "sent",
            reason: null,
            providerMessageId: serial,
            latencyMs: 12,
            createdAt: Date.now(),
          },
          change: {
            kind: "sent",
            provider: "tencent",
            providerMessageId: serial,
          },
        },
      ]);
    };
    const queued: WebhookJob[] = [];
    const webhookQueue = {
      send: async (body: WebhookJob) => {
        queued.push(body);
      },
      sendBatch: async (batch: { body: WebhookJob }[]) => {
        queued.push(...batch.map((m) => m.body));
      },
    };
    const racing = {
      ...env,
      DB: racingD1(env.DB, recordTheSend),
      WEBHOOK_QUEUE: webhookQueue as unknown as Queue,
    };
    const receipt = new Request(callback_urls.status, {
      method: "POST",
      body: JSON.stringify([
        {
          user_receive_time: "2026-11-22 12:00:05",
          nationcode: "86",
          mobile: "13800138602",
          report_status: "SUCCESS",
          errmsg: "DELIVRD",
          description: "ok",
          sid: serial,
        },
      ]),
    });

    const hookToken = new URL(callback_urls.status).pathname.split("/")[4] ?? "";
    const counts = await acceptStatusCallback(racing, "tencent", hookToken, receipt);

    expect(await statusOf(message.id)).toBe("delivered");
    expect(counts).toEqual({ applied: 1, ignored: 0, held: 0, unknown: 0 });
    const events = [];
    for (const job of queued) {
      const row = await env.DB.prepare(
        "SELECT event_type, payload FROM webhook_deliveries WHERE id = ?",
      )
        .bind(job.delivery_id)
        .first<{ event_type: string; payload: string }>();
      events.push({
        type: row?.event_type,
        data: JSON.parse(row?.payload ?? "{}").data,
      });
    }
    expect(events).toEqual([
      {
        type: "message.delivered",
        data: expect.objectContaining({
          id: message.id,
          status: "delivered",
          provider: "tencent",
        }),
      },
    ]);
    const left = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM pending_receipts WHERE provider_message_id = ?",
    )
      .bind(serial)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});
