/** A fake WeChat API, an app that uses it, followers with open windows, and one consumer run. */
import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runInDurableObject,
} from "cloudflare:test";
import type { OutboundAdapters } from "../../src/channels/registry";
import type { SmsAdapter } from "../../src/channels/sms/adapter";
import { sandbox } from "../../src/channels/sms/sandbox";
import type { DispatchJob } from "../../src/delivery/payloads";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import type { SmsFallback } from "../../src/domain/wechat-payload";
import type { WeChatAccount } from "../../src/durable-objects/wechat-account/wechat-account";
import { consumeDispatch } from "../../src/queues/dispatch";
import { eventually, postJson, type TestTenant } from "./tenants";
import { newAppId } from "./wechat";

export const WX_HOST = "wx.fake";

export type Fetch = (request: Request) => Promise<Response>;

/**
 * WeChat's API: the token endpoint, and message sends answered by `answer` (a thrown error is a
 * connection that failed). Every other host (the sandbox's receipts) gets an empty JSON object.
 */
export function fakeWeChat(
  answer: (path: string, body: Record<string, unknown>) => Record<string, unknown>,
) {
  const calls: { path: string; body: Record<string, unknown> }[] = [];
  const fetch: Fetch = async (request) => {
    const url = new URL(request.url);
    if (url.host !== WX_HOST) {
      return Response.json({});
    }
    if (url.pathname.includes("token")) {
      return Response.json({ access_token: "ACCESS_TOKEN_1", expires_in: 7200 });
    }
    const body = (await request.json()) as Record<string, unknown>;
    calls.push({ path: url.pathname, body });
    return Response.json(answer(url.pathname, body));
  };
  return { calls, fetch };
}

/** A plaintext-mode app whose API (and token authority) is the fake. */
export async function appWithFakeApi(tenant: TestTenant, fetch: Fetch): Promise<string> {
  const appId = newAppId();
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: "0123456789abcdef0123456789abcdef",
      token: "QDG6eK",
      encoding_aes_key: "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
      mode: "plaintext",
      api_base_url: `https://${WX_HOST}`,
    }),
  );
  if (res.status !== 201) {
    throw new Error(`app not created: ${res.status} ${await res.text()}`);
  }
  await runInDurableObject(wechatAccountOf(env, appId), (instance: WeChatAccount) => {
    Object.defineProperty(instance, "io", { value: { fetch, now: () => Date.now() } });
  });
  return appId;
}

/** A following follower whose window an interaction of `kind` opened `ago` ms ago. */
export async function follower(
  tenant: TestTenant,
  appId: string,
  openid: string,
  ago: number,
  kind = "message",
): Promise<void> {
  const openedAt = Date.now() - ago;
  await env.DB.prepare(
    `INSERT INTO wechat_followers (app_id, openid, tenant_id, following, tag_ids,
       last_interaction_at, service_window_kind, service_window_opened_at, updated_at)
     VALUES (?, ?, ?, 1, '[]', ?, ?, ?, ?)`,
  )
    .bind(appId, openid, tenant.id, openedAt, kind, openedAt, Date.now())
    .run();
}

/** One consumer run over the messages `ids`, as one queue batch; `wechatEnv` may swap bindings. */
export async function consumeBatch(
  tenant: TestTenant,
  ids: string[],
  fetch: Fetch,
  wechatEnv: Env = env,
) {
  const batch = createMessageBatch<DispatchJob>(
    "relaybox-dispatch",
    ids.map((id, i) => ({
      id: `q-${i + 1}`,
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, tenant_id: tenant.id, message_id: id },
    })),
  );
  const ctx = createExecutionContext();
  await consumeDispatch(batch as MessageBatch<unknown>, wechatEnv, ctx, { fetch });
  return getQueueResult(batch, ctx);
}

export const SMS_FALLBACK: SmsFallback = {
  recipient: "+8613800138950",
  body: "【Relaybox】Your order has shipped",
  segments: 1,
  encoding: "UCS-2",
  costMicros: 6500,
  templateId: null,
  templateVersion: null,
  templateParams: null,
};

export interface MessageView {
  channel: string;
  to: string;
  status: string;
  status_reason: string | null;
  attempts: { provider: string; outcome: string; reason: string | null }[];
}

export async function viewOf(tenant: TestTenant, id: string): Promise<MessageView> {
  return (await (await tenant.api(`/v1/messages/${id}`)).json()) as MessageView;
}

/**
 * The message once its SMS fallback is sent: the consumer hands the SMS to the tenant's
 * dispatcher, which releases it to the queue, whose own consumer sends it through the sandbox.
 */
export async function smsFallbackSent(tenant: TestTenant, id: string): Promise<MessageView> {
  return eventually(
    async () => {
      const view = await viewOf(tenant, id);
      const sent = view.attempts.some((a) => a.provider !== "wechat" && a.outcome === "sent");
      return sent && view.status !== "sending" ? view : undefined;
    },
    10_000,
    `the SMS fallback of ${id} to be sent`,
  );
}

/** One consumer run over `jobs` as they are (one queue batch), with `adapters` in the registry's place. */
export async function consumeJobs(
  jobs: readonly DispatchJob[],
  fetch: Fetch,
  options: { adapters?: Partial<OutboundAdapters>; env?: Env } = {},
) {
  const batch = createMessageBatch<DispatchJob>(
    "relaybox-dispatch",
    jobs.map((body, i) => ({ id: `q-${i + 1}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await consumeDispatch(batch as MessageBatch<unknown>, options.env ?? env, ctx, {
    fetch,
    adapters: options.adapters,
  });
  return getQueueResult(batch, ctx);
}

/**
 * A carrier in the sandbox's place that records the numbers it is asked to send to, and can hold
 * its answers: `hold()` keeps every send waiting until `release()`, and `reached` settles once one
 * is waiting, so a test can act while a consumer is in the middle of a send.
 */
export function recordingCarrier() {
  const sentTo: string[] = [];
  let held: { reached: () => void; released: Promise<void> } | null = null;
  const adapter: SmsAdapter = {
    ...sandbox,
    send: async (request, settings, io) => {
      sentTo.push(request.to);
      if (held) {
        held.reached();
        await held.released;
      }
      return sandbox.send(request, settings, io);
    },
  };
  const hold = () => {
    let reached: () => void = () => {};
    let release: () => void = () => {};
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    held = { reached, released };
    return {
      reached: reachedPromise,
      release: () => {
        held = null;
        release();
      },
    };
  };
  return { sentTo, adapters: { sandbox: adapter }, hold };
}
