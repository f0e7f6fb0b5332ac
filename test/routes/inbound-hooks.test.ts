import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import {
  consumeInbound,
  consumeInboundDeadLetters,
  deadLetterReason,
  type InboundJob,
} from "../../src/services/inbound/inbound-queue";
import { receiveInboundSms } from "../../src/services/inbound/receive";
import type { InboundStage } from "../../src/services/inbound/stage";
import { callWithEnv, flakyD1 } from "../support/flaky";
import { call, createTenant, eventually, type TestTenant } from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";

const AUTH_TOKEN = "twilio-auth-token-0123456789";

interface InboundRowView {
  id: string;
  channel: string;
  conversation_id: string;
  sender: string;
  recipient: string;
  body: string;
  provider: string;
  provider_message_id: string;
  handling: string;
  received_at: number;
}

interface ConversationRowView {
  id: string;
  channel: string;
  counterpart: string;
  contact_id: string | null;
  last_message: string | null;
  last_activity_at: number;
  unread_count: number;
}

async function inboundOf(tenantId: string): Promise<InboundRowView[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM inbound_messages WHERE tenant_id = ? ORDER BY received_at, id",
  )
    .bind(tenantId)
    .all<InboundRowView>();
  return results;
}

async function conversationsOf(tenantId: string): Promise<ConversationRowView[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM conversations WHERE tenant_id = ? ORDER BY id",
  )
    .bind(tenantId)
    .all<ConversationRowView>();
  return results;
}

/** The tenant's inbound rows once the queue's consumer handled every one. */
async function allHandled(tenantId: string): Promise<InboundRowView[]> {
  return eventually(
    async () => {
      const rows = await inboundOf(tenantId);
      return rows.every((r) => JSON.parse(r.handling).done === true) ? rows : undefined;
    },
    10_000,
    "the inbound handling",
  );
}

function sandboxPath(tenant: TestTenant): string {
  return `/hooks/sms/sandbox/${tenant.hookToken}/inbound`;
}

function postJsonBody(body: unknown): RequestInit {
  return { method: "POST", body: JSON.stringify(body) };
}

async function withProvider(tenant: TestTenant, provider: string, settings: unknown) {
  const res = await tenant.api(`/v1/providers/${provider}`, {
    method: "PUT",
    body: JSON.stringify(settings),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as {
    callback_urls: { status: string; inbound: string };
  };
}

/** X-Twilio-Signature as Twilio computes it: HMAC-SHA1 over the URL and the sorted parameters. */
async function twilioSignature(url: string, params: Record<string, string>, token: string) {
  const data =
    url +
    Object.keys(params)
      .sort()
      .map((k) => k + params[k])
      .join("");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(token),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data)));
  return btoa(String.fromCharCode(...mac));
}

function form(params: Record<string, string>, signature: string | null): RequestInit {
  return {
    method: "POST",
    body: new URLSearchParams(params).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(signature ? { "x-twilio-signature": signature } : {}),
    },
  };
}

describe("the sandbox inbound hook", () => {
  it("stores a national number in E.164, opens the conversation and emits inbound.received once", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const endpoint = await createEndpoint(tenant, {
      events: ["inbound.received"],
    });
    const res = await call(
      sandboxPath(tenant),
      null,
      postJsonBody({
        from: "138 0013 8000",
        body: "Hello",
        message_id: "phone-1",
      }),
    );
    expect(res.status).toBe(202);
    const answer = (await res.json()) as { ids: string[] };
    expect(answer.ids).toHaveLength(1);
    expect(answer.ids[0]).toMatch(/^inb_/);

    const [row, ...others] = await allHandled(tenant.id);
    expect(others).toEqual([]);
    expect(row).toMatchObject({
      id: answer.ids[0],
      channel: "sms",
      sender: "+8613800138000",
      recipient: "",
      body: "Hello",
      provider: "sandbox",
      provider_message_id: "phone-1",
    });
    expect(JSON.parse(row?.handling ?? "{}")).toEqual({ done: true });

    const [conversation] = await conversationsOf(tenant.id);
    expect(conversation).toMatchObject({
      id: row?.conversation_id,
      channel: "sms",
      counterpart: "+8613800138000",
      unread_count: 1,
      last_activity_at: row?.received_at,
    });
    expect(JSON.parse(conversation?.last_message ?? "null")).toEqual({
      direction: "inbound",
      body: "Hello",
      at: row?.received_at,
    });

    const deliveries = await deliveriesOf(endpoint.id);
    expect(deliveries.map((d) => d.event_type)).toEqual(["inbound.received"]);
    const event = JSON.parse(deliveries[0]?.payload ?? "{}");
    expect(event.data).toEqual({
      id: row?.id,
      channel: "sms",
      from: "+8613800138000",
      to: "",
      body: "Hello",
      conversation_id: row?.conversation_id,
      received_at: new Date(row?.received_at ?? 0).toISOString(),
    });
  });

  it("stores a retry once, answers it the same and emits nothing again", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["inbound.received"],
    });
    const message = {
      from: "+8613800138001",
      to: "+8610690000",
      body: "Hi",
      message_id: "m-7",
    };
    const first = await call(sandboxPath(tenant), null, postJsonBody(message));
    const again = await call(sandboxPath(tenant), null, postJsonBody(message));
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual(await first.json());
    expect(await allHandled(tenant.id)).toHaveLength(1);
    expect((await conversationsOf(tenant.id))[0]?.unread_count).toBe(1);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });

  it("keeps one conversation per number: counts, the last message, and the bound contact", async () => {
    const tenant = await createTenant();
    const now = Date.now();
    const contactId = newId("ctc", now);
    await env.DB.prepare(
      "INSERT INTO contacts (id, tenant_id, external_id, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
      .bind(contactId, tenant.id, "user-42", "+8613800138002", now, now)
      .run();
    const post = (body: unknown) => call(sandboxPath(tenant), null, postJsonBody(body));
    expect(
      (
        await post({
          from: "+8613800138002",
          body: "first",
          received_at: "2026-11-01T08:00:00Z",
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await post({
          from: "13800138002",
          body: "second",
          received_at: "2026-11-01T08:05:00Z",
        })
      ).status,
    ).toBe(202);
    // Late: counted, but not the last message.
    expect(
      (
        await post({
          from: "13800138002",
          body: "older",
          received_at: "2026-11-01T07:00:00Z",
        })
      ).status,
    ).toBe(202);
    expect(
      (
        await post({
          from: "+14155550100",
          body: "other",
          received_at: "2026-11-01T08:01:00Z",
        })
      ).status,
    ).toBe(202);

    const conversations = await conversationsOf(tenant.id);
    expect(conversations).toHaveLength(2);
    const mine = conversations.find((c) => c.counterpart === "+8613800138002");
    expect(mine).toMatchObject({
      contact_id: contactId,
      unread_count: 3,
      last_activity_at: Date.parse("2026-11-01T08:05:00Z"),
    });
    expect(JSON.parse(mine?.last_message ?? "null")?.body).toBe("second");
    const other = conversations.find((c) => c.counterpart === "+14155550100");
    expect(other).toMatchObject({ contact_id: null, unread_count: 1 });
    const rows = await inboundOf(tenant.id);
    expect(rows.filter((r) => r.conversation_id === mine?.id)).toHaveLength(3);
  });

  it("answers 404 for an unknown token or provider, 400 for a malformed body, and stores nothing", async () => {
    const tenant = await createTenant();
    const message = { from: "+8613800138003", body: "Hi" };
    const unknownToken = await call(
      "/hooks/sms/sandbox/not-a-token/inbound",
      null,
      postJsonBody(message),
    );
    expect(unknownToken.status).toBe(404);
    expect(unknownToken.headers.get("content-type")).toContain("application/problem+json");
    const wrongProvider = await call(
      `/hooks/sms/aliyun/${tenant.hookToken}/inbound`,
      null,
      postJsonBody(message),
    );
    expect(wrongProvider.status).toBe(404);

    const malformed = await call(sandboxPath(tenant), null, {
      method: "POST",
      body: "not json",
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get("content-type")).toContain("application/problem+json");
    // One bad message stores none of its callback.
    const oneBad = await call(
      sandboxPath(tenant),
      null,
      postJsonBody([message, { from: "call me", body: "x" }]),
    );
    expect(oneBad.status).toBe(400);
    expect(await inboundOf(tenant.id)).toEqual([]);
    expect(await conversationsOf(tenant.id)).toEqual([]);
  });

  it("stores what a tenant's token posts under that tenant only", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const res = await call(
      sandboxPath(b),
      null,
      postJsonBody({
        from: "+8613800138004",
        body: "to b",
        message_id: "same-id",
      }),
    );
    expect(res.status).toBe(202);
    expect(
      (
        await call(
          sandboxPath(a),
          null,
          postJsonBody({
            from: "+8613800138004",
            body: "to a",
            message_id: "same-id",
          }),
        )
      ).status,
    ).toBe(202);
    // The same carrier id under two tenants: two messages, each in its own tenant.
    expect((await inboundOf(a.id)).map((r) => r.body)).toEqual(["to a"]);
    expect((await inboundOf(b.id)).map((r) => r.body)).toEqual(["to b"]);
    expect((await conversationsOf(a.id))[0]?.unread_count).toBe(1);
    expect((await conversationsOf(b.id))[0]?.unread_count).toBe(1);
  });

  it("shows the inbound URL with its token on GET /v1/providers/sandbox", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/providers/sandbox");
    expect(res.status).toBe(200);
    const view = (await res.json()) as { callback_urls: { inbound: string } };
    expect(new URL(view.callback_urls.inbound).pathname).toBe(sandboxPath(tenant));
  });
});

describe("carriers' inbound hooks", () => {
  it("stores Twilio's signed incoming message, answers empty TwiML, and refuses a forged one", async () => {
    const tenant = await createTenant({ homeCountry: "US" });
    const { callback_urls } = await withProvider(tenant, "twilio", {
      config: { account_sid: `AC${"a1".repeat(16)}`, from: "+14155550100" },
      credentials: { auth_token: AUTH_TOKEN },
    });
    const params = {
      MessageSid: `SM${"d4".repeat(16)}`,
      AccountSid: `AC${"a1".repeat(16)}`,
      From: "+14155550123",
      To: "+14155550100",
      Body: "Yes, see you at 10",
      NumMedia: "0",
    };
    const path = new URL(callback_urls.inbound).pathname;
    const forged = await call(
      path,
      null,
      form(params, await twilioSignature(callback_urls.inbound, params, "wrong-token-000000")),
    );
    expect(forged.status).toBe(403);
    expect(forged.headers.get("content-type")).toContain("application/problem+json");
    expect((await call(path, null, form(params, null))).status).toBe(403);
    expect(await inboundOf(tenant.id)).toEqual([]);

    const signature = await twilioSignature(callback_urls.inbound, params, AUTH_TOKEN);
    for (let i = 0; i < 2; i++) {
      const res = await call(path, null, form(params, signature));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/xml");
      expect(await res.text()).toBe("<Response/>");
    }
    const rows = await inboundOf(tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      sender: "+14155550123",
      recipient: "+14155550100",
      body: "Yes, see you at 10",
      provider: "twilio",
      provider_message_id: params.MessageSid,
    });
  });

  it("stores Aliyun's SmsUp push, answered as Aliyun documents", async () => {
    const tenant = await createTenant();
    const { callback_urls } = await withProvider(tenant, "aliyun", {
      config: { access_key_id: "LTAI5tExampleKey", sign_name: "Relaybox" },
      credentials: { access_key_secret: "aliyun-secret-0123" },
    });
    // Aliyun's documented SmsUp example.
    const push = [
      {
        phone_number: "13800138000",
        send_time: "2017-09-01 00:00:00",
        content: "内容",
        sign_name: "签名",
        dest_code: "1234",
        sequence_id: 1234567890,
      },
    ];
    const path = new URL(callback_urls.inbound).pathname;
    for (let i = 0; i < 2; i++) {
      const res = await call(path, null, postJsonBody(push));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ code: 0, msg: "成功" });
    }
    const rows = await inboundOf(tenant.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      sender: "+8613800138000",
      recipient: "1234",
      body: "内容",
      provider_message_id: "1234567890",
      received_at: Date.UTC(2017, 7, 31, 16, 0, 0),
    });

    // A push bringing the stored reply again with a new one: the new one only is stored.
    await allHandled(tenant.id);
    const endpoint = await createEndpoint(tenant, { events: ["inbound.received"] });
    const next = { ...push[0], content: "TD", sequence_id: 1234567891 };
    const res = await call(path, null, postJsonBody([...push, next, next]));
    expect(res.status).toBe(200);
    expect((await inboundOf(tenant.id)).map((r) => r.body)).toEqual(["内容", "TD"]);
    expect((await conversationsOf(tenant.id))[0]?.unread_count).toBe(2);
    await allHandled(tenant.id);
    const events = (await deliveriesOf(endpoint.id)).map((d) => JSON.parse(d.payload).data.body);
    expect(events).toEqual(["TD"]);
  });

  it("stores Tencent's reply callback once though it carries no id, answered as Tencent documents", async () => {
    const tenant = await createTenant();
    const { callback_urls } = await withProvider(tenant, "tencent", {
      config: {
        secret_id: "AKIDexample",
        sms_sdk_app_id: "1400000000",
        sign_name: "Relaybox",
      },
      credentials: { secret_key: "tencent-secret-0123" },
    });
    // Tencent's documented 短信回复 example, with a full number in place of its masked one.
    const reply = {
      extend: "",
      mobile: "13800138000",
      nationcode: "86",
      sign: "短信签名",
      text: "用户回复的内容",
      time: 1457336869,
    };
    const path = new URL(callback_urls.inbound).pathname;
    for (let i = 0; i < 2; i++) {
      const res = await call(path, null, postJsonBody(reply));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ result: 0, errmsg: "OK" });
    }
    // A second reply with the same text at another time is another message.
    await call(path, null, postJsonBody({ ...reply, time: reply.time + 60 }));
    const rows = await inboundOf(tenant.id);
    expect(rows.map((r) => [r.sender, r.body, r.received_at])).toEqual([
      ["+8613800138000", "用户回复的内容", 1457336869000],
      ["+8613800138000", "用户回复的内容", 1457336929000],
    ]);
    expect((await conversationsOf(tenant.id))[0]?.unread_count).toBe(2);
  });
});

describe("the hook token's cache", () => {
  it("stops taking a rotated token at once in the isolate that rotated it", async () => {
    const tenant = await createTenant();
    const old = sandboxPath(tenant);
    // Cached by the first post.
    expect(
      (await call(old, null, postJsonBody({ from: "+8613800138010", body: "a" }))).status,
    ).toBe(202);
    const rotated = await tenant.api("/v1/providers/sandbox/rotate-hook-token", { method: "POST" });
    expect(rotated.status).toBe(200);
    const { callback_urls } = (await rotated.json()) as { callback_urls: { inbound: string } };
    const fresh = new URL(callback_urls.inbound).pathname;
    expect(fresh).not.toBe(old);
    expect(
      (await call(old, null, postJsonBody({ from: "+8613800138010", body: "b" }))).status,
    ).toBe(404);
    expect(
      (await call(fresh, null, postJsonBody({ from: "+8613800138010", body: "c" }))).status,
    ).toBe(202);
    expect((await allHandled(tenant.id)).map((r) => r.body)).toEqual(["a", "c"]);
  });
});

describe("failures between the steps", () => {
  function sandboxRequest(tenant: TestTenant, body: unknown): Request {
    return new Request(`http://127.0.0.1:8787${sandboxPath(tenant)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  /** The env with an INBOUND_QUEUE that keeps what the hook sends (so no consumer runs it). */
  function capturingQueue() {
    const sent: InboundJob[] = [];
    const queue = {
      async sendBatch(messages: Iterable<MessageSendRequest<InboundJob>>) {
        for (const m of messages) {
          sent.push(m.body);
        }
      },
      async send(body: InboundJob) {
        sent.push(body);
      },
    };
    return { env: { ...env, INBOUND_QUEUE: queue as unknown as Queue }, sent };
  }

  let batchSeq = 0;
  function inboundBatch(queue: string, jobs: InboundJob[], attempts = 1) {
    return createMessageBatch<InboundJob>(
      queue,
      jobs.map((body) => ({ id: `q-${++batchSeq}`, timestamp: new Date(), attempts, body })),
    );
  }

  async function consume(jobs: InboundJob[], options: { env?: Env; stages?: InboundStage[] } = {}) {
    const batch = inboundBatch("relaybox-inbound", jobs);
    const ctx = createExecutionContext();
    await consumeInbound(batch as MessageBatch<unknown>, options.env ?? env, ctx, {
      stages: options.stages,
    });
    return getQueueResult(batch, ctx);
  }

  it("finishes the handling on the queue's redelivery after a stage failed, emitting once", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["inbound.received"],
    });
    const seen: string[] = [];
    let failNext = true;
    const stages: InboundStage[] = [
      {
        name: "probe",
        async run(_env, message) {
          seen.push(message.id);
          if (failNext) {
            failNext = false;
            throw new Error("the stage's I/O failed");
          }
          return { result: "ran" };
        },
      },
    ];
    const message = {
      from: "+8613800138005",
      body: "TD",
      message_id: "crash-1",
    };
    const queued = capturingQueue();
    const rows = await receiveInboundSms(
      queued.env,
      "sandbox",
      tenant.hookToken,
      sandboxRequest(tenant, message),
    );
    const [stored] = await inboundOf(tenant.id);
    expect(rows.map((r) => r.id)).toEqual([stored?.id]);
    expect(queued.sent).toEqual([{ v: 1, inbound_id: stored?.id }]);
    expect(JSON.parse(stored?.handling ?? "null")).toEqual({});

    const failed = await consume(queued.sent, { stages });
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toHaveLength(1);
    expect(JSON.parse((await inboundOf(tenant.id))[0]?.handling ?? "null")).toEqual({});

    const redelivered = await consume(queued.sent, { stages });
    expect(redelivered.explicitAcks).toHaveLength(1);
    expect(redelivered.retryMessages).toEqual([]);
    expect(JSON.parse((await inboundOf(tenant.id))[0]?.handling ?? "null")).toEqual({
      probe: "ran",
      done: true,
    });
    expect(seen).toEqual([stored?.id, stored?.id]);

    // Handled: a redelivery (twice in one batch) runs nothing, and a third post queues nothing.
    const again = await consume([...queued.sent, ...queued.sent], { stages });
    expect(again.explicitAcks).toHaveLength(2);
    await receiveInboundSms(
      queued.env,
      "sandbox",
      tenant.hookToken,
      sandboxRequest(tenant, message),
    );
    expect(queued.sent).toHaveLength(1);
    expect(seen).toHaveLength(2);
    expect(await inboundOf(tenant.id)).toHaveLength(1);
    expect((await conversationsOf(tenant.id))[0]?.unread_count).toBe(1);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });

  it("answers 500 when the queue send fails, and the carrier's retry queues it: nothing lost", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["inbound.received"],
    });
    const message = {
      from: "+8613800138008",
      body: "hello",
      message_id: "crash-4",
    };
    const broken = {
      ...env,
      INBOUND_QUEUE: {
        sendBatch: () => Promise.reject(new Error("queue unavailable")),
        send: () => Promise.reject(new Error("queue unavailable")),
      } as unknown as Queue,
    };
    const failed = await callWithEnv(broken, sandboxPath(tenant), "unused", postJsonBody(message));
    expect(failed.status).toBe(500);
    const [stored] = await inboundOf(tenant.id);
    expect(JSON.parse(stored?.handling ?? "null")).toEqual({});
    expect(await deliveriesOf(endpoint.id)).toEqual([]);

    const retried = await call(sandboxPath(tenant), null, postJsonBody(message));
    expect(retried.status).toBe(202);
    expect(await retried.json()).toEqual({ ids: [stored?.id] });
    const handling = await eventually(async () => {
      const h = JSON.parse((await inboundOf(tenant.id))[0]?.handling ?? "{}");
      return h.done ? h : undefined;
    });
    expect(handling).toEqual({ done: true });
    expect(await inboundOf(tenant.id)).toHaveLength(1);
    expect((await conversationsOf(tenant.id))[0]?.unread_count).toBe(1);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });

  it("retries the queue message when the handling cannot be recorded", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["inbound.received"],
    });
    const message = {
      from: "+8613800138006",
      body: "hello",
      message_id: "crash-2",
    };
    const queued = capturingQueue();
    await receiveInboundSms(
      queued.env,
      "sandbox",
      tenant.hookToken,
      sandboxRequest(tenant, message),
    );
    const flaky = flakyD1(env.DB, (query) =>
      /^update "inbound_messages" set "handling"/i.test(query),
    );
    const failed = await consume(queued.sent, { env: { ...env, DB: flaky.db } });
    expect(flaky.failures()).toBe(1);
    expect(failed.retryMessages).toHaveLength(1);
    expect(JSON.parse((await inboundOf(tenant.id))[0]?.handling ?? "null")).toEqual({});

    const redelivered = await consume(queued.sent);
    expect(redelivered.explicitAcks).toHaveLength(1);
    const rows = await inboundOf(tenant.id);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(rows[0]?.handling ?? "null")).toEqual({ done: true });
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });

  it("dead-lettered handling is written on the message, and the carrier's retry queues it again", async () => {
    const tenant = await createTenant();
    const message = {
      from: "+8613800138009",
      body: "hello",
      message_id: "crash-5",
    };
    const queued = capturingQueue();
    await receiveInboundSms(
      queued.env,
      "sandbox",
      tenant.hookToken,
      sandboxRequest(tenant, message),
    );
    const [job] = queued.sent;
    if (!job) {
      throw new Error("nothing queued");
    }
    const dead = inboundBatch("relaybox-inbound-dlq", [job, { v: 1, inbound_id: "junk" }], 10);
    const ctx = createExecutionContext();
    await consumeInboundDeadLetters(dead as MessageBatch<unknown>, env);
    expect((await getQueueResult(dead, ctx)).explicitAcks).toHaveLength(2);
    const [row] = await inboundOf(tenant.id);
    expect(JSON.parse(row?.handling ?? "null")).toEqual({ dead_lettered: deadLetterReason(10) });

    // Not done: the carrier's retry queues it again, and the consumer finishes it.
    await receiveInboundSms(
      queued.env,
      "sandbox",
      tenant.hookToken,
      sandboxRequest(tenant, message),
    );
    expect(queued.sent).toEqual([job, job]);
    expect((await consume([job])).explicitAcks).toHaveLength(1);
    const handled = JSON.parse((await inboundOf(tenant.id))[0]?.handling ?? "null");
    expect(handled).toMatchObject({ done: true });

    // A dead letter for a message done meanwhile changes nothing.
    const late = inboundBatch("relaybox-inbound-dlq", [job], 10);
    await consumeInboundDeadLetters(late as MessageBatch<unknown>, env);
    expect(JSON.parse((await inboundOf(tenant.id))[0]?.handling ?? "null")).toEqual(handled);
  });

  it("stores nothing when the storing batch fails, and the retry stores it once", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["inbound.received"],
    });
    const message = {
      from: "+8613800138007",
      body: "hello",
      message_id: "crash-3",
    };
    // The batch fails as a whole (a transaction): its conversation insert is undone too.
    const failing = {
      ...env,
      DB: new Proxy(env.DB, {
        get(target, prop) {
          if (prop === "batch") {
            return () => Promise.reject(new Error("D1_ERROR: injected batch failure"));
          }
          const value = Reflect.get(target, prop, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    };
    const failed = await callWithEnv(failing, sandboxPath(tenant), "unused", postJsonBody(message));
    expect(failed.status).toBe(500);
    expect(await inboundOf(tenant.id)).toEqual([]);
    expect(await deliveriesOf(endpoint.id)).toEqual([]);

    expect((await call(sandboxPath(tenant), null, postJsonBody(message))).status).toBe(202);
    expect(await inboundOf(tenant.id)).toHaveLength(1);
    expect((await conversationsOf(tenant.id))[0]?.unread_count).toBe(1);
    await allHandled(tenant.id);
    expect(await deliveriesOf(endpoint.id)).toHaveLength(1);
  });
});
