/**
 * The SMS fallback of a `channel: "auto"` message goes through the tenant's dispatcher, whichever
 * way WeChat gave up on it: it waits behind the phone's earlier messages, a copy of a queue
 * message never sends it out of turn or frees the phone's next message early, and it is sent
 * exactly once (counted at the carrier), also when the hand-over to the dispatcher is lost.
 */
import { createMessageBatch, env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OutboxMessage } from "../../src/delivery/dispatcher-types";
import type { DispatchJob } from "../../src/delivery/payloads";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { consumeDeadLetters } from "../../src/queues/dead-letters";
import { isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage, statusOf } from "../support/messages";
import { eventually, type TestTenant } from "../support/tenants";
import { deliver, templateJobFinish } from "../support/wechat";
import {
  appWithFakeApi,
  consumeJobs,
  fakeWeChat,
  recordingCarrier,
  SMS_FALLBACK,
  viewOf,
} from "../support/wechat-outbound";

/** A template message to `openid` whose SMS fallback goes to `phone`. */
function autoMessage(tenant: TestTenant, appId: string, openid: string, phone: string) {
  return outboxMessage(tenant.id, openid, {
    channel: "wechat",
    sender: appId,
    mode: "live",
    segments: 0,
    payload: JSON.stringify({
      msgtype: "template",
      touser: openid,
      template_id: "tmpl1",
      data: {},
      fallback: { ...SMS_FALLBACK, recipient: phone },
    }),
  });
}

/** An env whose dispatchers never hear a consumer's report: the consumer died before it. */
function reportsLost(): Env {
  const namespace = {
    idFromName: (name: string) => env.DISPATCHER.idFromName(name),
    get: () => ({
      reportResults: async () => {
        throw new Error("Durable Object reset because its code was updated");
      },
    }),
  };
  return { ...env, DISPATCHER: namespace } as unknown as Env;
}

async function becomesSms(tenant: TestTenant, message: OutboxMessage) {
  await eventually(async () =>
    (await viewOf(tenant, message.id)).channel === "sms" ? true : undefined,
  );
}

describe("the SMS fallback after an undelivered template message", () => {
  it("holds the phone's next message while the SMS is being sent, when copies of its jobs come again", async () => {
    const { tenant, queue, accept, runAlarm } = await isolatedDispatcher();
    const phone = "+8613800138961";
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 300000011 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const carrier = recordingCarrier();
    const message = autoMessage(tenant, appId, "oCopy1", phone);
    await accept(message);
    await runAlarm();
    const [wechatJob] = queue.jobs;
    expect(queue.sent).toEqual([message.id]);
    await consumeJobs(queue.jobs, wechat.fetch, carrier);
    expect(await statusOf(message.id)).toBe("sent");
    const finish = templateJobFinish(300000011, "failed:user block", "oCopy1");
    expect((await deliver(appId, finish, { mode: "plaintext" })).status).toBe(200);
    await becomesSms(tenant, message);
    const next = outboxMessage(tenant.id, phone, { mode: "live" });
    await accept(next);
    await runAlarm();
    // The SMS goes first; the phone's next message waits for its send result.
    expect(queue.sent).toEqual([message.id, message.id]);
    const smsJob = queue.jobs[1];
    if (!wechatJob || !smsJob) {
      throw new Error("jobs missing");
    }

    // Its consumer is in the middle of the send when copies of both jobs are delivered.
    const held = carrier.hold();
    const sending = consumeJobs([smsJob], wechat.fetch, carrier);
    await held.reached;
    const wechatCopy = await consumeJobs([wechatJob], wechat.fetch, carrier);
    const smsCopy = await consumeJobs([smsJob], wechat.fetch, carrier);
    expect(wechatCopy.explicitAcks).toEqual([]);
    expect(smsCopy.explicitAcks).toEqual([]);
    await runAlarm();
    expect(queue.sent).toEqual([message.id, message.id]);

    held.release();
    expect((await sending).explicitAcks).toEqual(["q-1"]);
    await runAlarm();
    expect(queue.sent).toEqual([message.id, message.id, next.id]);
    // The copies come back after the claim, find the SMS sent, and are acked without a send.
    expect((await consumeJobs([wechatJob, smsJob], wechat.fetch, carrier)).explicitAcks).toEqual([
      "q-1",
      "q-2",
    ]);
    expect(carrier.sentTo).toEqual([phone]);
  });

  it("sends the SMS once and in turn when a copy of the WeChat job comes while it waits", async () => {
    const { tenant, stub, queue, accept, runAlarm } = await isolatedDispatcher();
    const phone = "+8613800138962";
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 300000012 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const carrier = recordingCarrier();
    const earlier = outboxMessage(tenant.id, phone, { mode: "live" });
    const message = autoMessage(tenant, appId, "oCopy2", phone);
    await accept(earlier);
    await accept(message);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id]);
    const wechatJob = queue.jobs[1];
    if (!wechatJob) {
      throw new Error("job missing");
    }
    await consumeJobs([wechatJob], wechat.fetch, carrier);
    const finish = templateJobFinish(300000012, "failed:user block", "oCopy2");
    expect((await deliver(appId, finish, { mode: "plaintext" })).status).toBe(200);
    await becomesSms(tenant, message);

    // A copy of the WeChat job, while the SMS waits behind the earlier message: it sends nothing.
    const copy = await consumeJobs([wechatJob], wechat.fetch, carrier);
    expect(copy.explicitAcks).toEqual(["q-1"]);
    expect(carrier.sentTo).toEqual([]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id]);

    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id, message.id]);
    await consumeJobs(queue.jobs.slice(2), wechat.fetch, carrier);
    expect(carrier.sentTo).toEqual([phone]);
    expect(await statusOf(message.id)).toBe("sent");
  });
});

describe("the SMS fallback when WeChat refuses the send for good", () => {
  /** An SMS to `phone` released and awaiting its result, and an auto message WeChat refuses. */
  async function refusedBehindEarlier(phone: string, openid: string) {
    const dispatcher = await isolatedDispatcher();
    const { tenant, queue, accept, runAlarm } = dispatcher;
    const wechat = fakeWeChat(() => ({ errcode: 43004, errmsg: "require subscribe" }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const earlier = outboxMessage(tenant.id, phone, { mode: "live" });
    const message = autoMessage(tenant, appId, openid, phone);
    await accept(earlier);
    await accept(message);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id]);
    const wechatJob = queue.jobs[1];
    if (!wechatJob) {
      throw new Error("job missing");
    }
    return { ...dispatcher, wechat, earlier, message, wechatJob, carrier: recordingCarrier() };
  }

  it("hands the SMS to the dispatcher, which sends it after the phone's earlier message", async () => {
    const phone = "+8613800138963";
    const { tenant, stub, queue, runAlarm, wechat, earlier, message, wechatJob, carrier } =
      await refusedBehindEarlier(phone, "oGone1");

    const first = await consumeJobs([wechatJob], wechat.fetch, carrier);
    expect(first.explicitAcks).toEqual(["q-1"]);
    const view = await viewOf(tenant, message.id);
    expect(view).toMatchObject({ channel: "sms", to: phone, status: "sending" });
    expect(view.attempts.map((a) => [a.provider, a.outcome])).toEqual([["wechat", "permanent"]]);
    // A redelivery of the WeChat job sends nothing either: the SMS waits for its turn.
    expect((await consumeJobs([wechatJob], wechat.fetch, carrier)).explicitAcks).toEqual(["q-1"]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id]);
    expect(carrier.sentTo).toEqual([]);

    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id, message.id]);
    await consumeJobs(queue.jobs.slice(2), wechat.fetch, carrier);
    expect(carrier.sentTo).toEqual([phone]);
    expect((await viewOf(tenant, message.id)).attempts.map((a) => [a.provider, a.outcome])).toEqual(
      [
        ["wechat", "permanent"],
        ["sandbox", "sent"],
      ],
    );
  });

  it("hands the SMS over on the redelivery when the consumer died between the switch and the hand-over", async () => {
    const phone = "+8613800138964";
    const { stub, queue, runAlarm, sql, wechat, earlier, message, wechatJob, carrier } =
      await refusedBehindEarlier(phone, "oGone2");

    // The switch to SMS is written, and the consumer dies before the dispatcher hears of it.
    await expect(
      consumeJobs([wechatJob], wechat.fetch, { ...carrier, env: reportsLost() }),
    ).rejects.toThrow("Durable Object reset");
    expect(await sql("SELECT recipient, state FROM outbox WHERE id = ?", message.id)).toEqual([
      { recipient: "oGone2", state: "released" },
    ]);

    // The queue delivers its job again: the SMS is handed over, and waits for its turn.
    expect((await consumeJobs([wechatJob], wechat.fetch, carrier)).explicitAcks).toEqual(["q-1"]);
    expect(await sql("SELECT recipient, state FROM outbox WHERE id = ?", message.id)).toEqual([
      { recipient: phone, state: "pending" },
    ]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id]);
    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);
    await runAlarm();
    await consumeJobs(queue.jobs.slice(2), wechat.fetch, carrier);
    // A late copy of either job finds it sent.
    await consumeJobs([wechatJob, ...queue.jobs.slice(2)], wechat.fetch, carrier);
    expect(carrier.sentTo).toEqual([phone]);
    expect(await statusOf(message.id)).toBe("sent");
  });

  it("is recovered by the dispatcher's sweep when the hand-over was lost after the ack", async () => {
    const phone = "+8613800138965";
    const { stub, queue, runAlarm, wechat, earlier, message, wechatJob, carrier } =
      await refusedBehindEarlier(phone, "oGone3");
    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);

    // Acked, but the report that hands the SMS over never arrives.
    await expect(
      consumeJobs([wechatJob], wechat.fetch, { ...carrier, env: reportsLost() }),
    ).rejects.toThrow("Durable Object reset");

    // Past the release timeout (5 s in tests) the dispatcher looks at the WeChat release again.
    const later = Date.now() + 6_000;
    await runInDurableObject(stub, (instance: TenantDispatcher) => {
      Object.defineProperty(instance, "clock", { value: () => later });
    });
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id, message.id]);
    await consumeJobs(queue.jobs.slice(2), wechat.fetch, carrier);
    expect(carrier.sentTo).toEqual([]);
    await runAlarm();
    expect(queue.sent).toEqual([earlier.id, message.id, message.id, message.id]);
    await consumeJobs(queue.jobs.slice(3), wechat.fetch, carrier);
    expect(carrier.sentTo).toEqual([phone]);
    expect(await statusOf(message.id)).toBe("sent");
  });

  it("sends nothing when the message ended failed while its SMS waited for its turn", async () => {
    const phone = "+8613800138966";
    const { tenant, stub, queue, runAlarm, wechat, earlier, message, wechatJob, carrier } =
      await refusedBehindEarlier(phone, "oGone4");
    await consumeJobs([wechatJob], wechat.fetch, carrier);
    // The queue gives up on a copy of its job meanwhile: the dead-letter consumer fails it.
    const dead = createMessageBatch<DispatchJob>("relaybox-dispatch-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 5, body: wechatJob },
    ]);
    await consumeDeadLetters(dead as MessageBatch<unknown>, env);
    expect(await statusOf(message.id)).toBe("failed");

    await stub.reportResults([{ id: earlier.id, outcome: "sent" }]);
    await runAlarm();
    const release = await consumeJobs(queue.jobs.slice(2), wechat.fetch, carrier);
    expect(release.explicitAcks).toEqual(["q-1"]);
    expect(carrier.sentTo).toEqual([]);
    expect((await viewOf(tenant, message.id)).status).toBe("failed");
  });
});
