/**
 * The Relaybox Worker.
 *
 * fetch: the REST API (/v1), carrier hooks (/hooks), docs (/docs, /openapi.json), and in local
 * development the WeChat sandbox (/sandbox/wechat).
 * queue: DISPATCH_QUEUE and BULK_DISPATCH_QUEUE (provider calls, the transactional and the bulk
 * lane: one consumer) and their dead-letter queues (end messages `failed`);
 * WEBHOOK_QUEUE (events to tenants' endpoints) and its dead-letter queue (ends deliveries
 * `failed`); INBOUND_QUEUE (an inbound SMS's event and handling, after the carrier hook stored it)
 * and its dead-letter queue (writes why on the message's handling); WECHAT_SYNC_QUEUE (one page
 * of a WeChat follower sync) and its dead-letter queue (ends the sync `failed`).
 * scheduled: production housekeeping only (retention included; the dispatchers' alarms enforce it
 * locally); nothing that must also happen under `wrangler dev`
 * runs here (cron never fires locally: receipt deadlines and retries live on Durable Object alarms).
 */
import { app } from "./app";
import { settingsOf } from "./config/settings";
import { networkFetch } from "./lib/outbound-fetch";
import { consumeDeadLetters } from "./queues/dead-letters";
import { consumeDispatch } from "./queues/dispatch";
import { consumeWebhookDeadLetters, consumeWebhooks } from "./queues/webhooks";
import { pruneDashboardSignIns } from "./services/accounts/dashboard-auth";
import { consumeInbound, consumeInboundDeadLetters } from "./services/inbound/inbound-queue";
import {
  dropStaleHeldReceipts,
  requeueStrandedDeliveries,
  wakeStalledDispatchers,
} from "./services/messaging/housekeeping";
import { enforceRetentionEverywhere } from "./services/messaging/retention";
import { expireDueVerifications } from "./services/verifications/verifications";
import {
  consumeFollowerSync,
  consumeFollowerSyncDeadLetters,
} from "./services/wechat/follower-sync";

export { TenantDesk } from "./durable-objects/desk/tenant-desk";
export { TenantDispatcher } from "./durable-objects/dispatcher/tenant-dispatcher";
export { PlatformNumberLimiter } from "./durable-objects/platform-number-limiter/platform-number-limiter";
export { VerificationLimiter } from "./durable-objects/verification-limiter/verification-limiter";
export { WebchatHub } from "./durable-objects/webchat/webchat-hub";
export { WeChatAccount } from "./durable-objects/wechat-account/wechat-account";
export { WeChatSandbox } from "./durable-objects/wechat-sandbox/wechat-sandbox";

/**
 * The dispatch consumer serves both lanes' queues (wrangler.toml): transactional
 * (DISPATCH_QUEUE) and bulk (BULK_DISPATCH_QUEUE); each has its own dead-letter queue.
 */
const DISPATCH_QUEUES = new Set(["relaybox-dispatch", "relaybox-dispatch-bulk"]);
const DISPATCH_DEAD_LETTER_QUEUES = new Set([
  "relaybox-dispatch-dlq",
  "relaybox-dispatch-bulk-dlq",
]);

/** Serves requests to our own public URL in-process (the sandbox carrier posts its receipts so). */
function selfFetch(env: Env, ctx: ExecutionContext) {
  const origin = new URL(settingsOf(env).PUBLIC_BASE_URL).origin;
  return (request: Request): Promise<Response> =>
    new URL(request.url).origin === origin
      ? Promise.resolve(app.fetch(request, env, ctx))
      : networkFetch(request);
}

export default {
  fetch(request, env, ctx) {
    settingsOf(env);
    return app.fetch(request, env, ctx);
  },

  async queue(batch, env, ctx) {
    if (batch.queue === "relaybox-webhooks") {
      await consumeWebhooks(batch, env);
    } else if (batch.queue === "relaybox-webhooks-dlq") {
      await consumeWebhookDeadLetters(batch, env);
    } else if (batch.queue === "relaybox-inbound") {
      await consumeInbound(batch, env, ctx);
    } else if (batch.queue === "relaybox-inbound-dlq") {
      await consumeInboundDeadLetters(batch, env);
    } else if (batch.queue === "relaybox-wechat-sync") {
      await consumeFollowerSync(batch, env);
    } else if (batch.queue === "relaybox-wechat-sync-dlq") {
      await consumeFollowerSyncDeadLetters(batch, env);
    } else if (DISPATCH_DEAD_LETTER_QUEUES.has(batch.queue)) {
      await consumeDeadLetters(batch, env);
    } else if (DISPATCH_QUEUES.has(batch.queue)) {
      await consumeDispatch(batch, env, ctx, { fetch: selfFetch(env, ctx) });
    } else {
      // A queue wrangler.toml gives this Worker but nothing here serves: thrown, the batch is
      // retried and then dead-lettered, not acked and lost.
      throw new Error(`queue ${batch.queue}: no consumer in src/index.ts`);
    }
  },

  async scheduled(_controller, env) {
    await Promise.all([
      wakeStalledDispatchers(env),
      dropStaleHeldReceipts(env),
      requeueStrandedDeliveries(env),
      pruneDashboardSignIns(env),
      // Reads and checks expire a verification themselves; this sends `verification.expired` for
      // the ones nobody asks about again.
      expireDueVerifications(env),
      // Each tenant's `retention`, in bounded rounds; a backlog goes on in its dispatcher.
      enforceRetentionEverywhere(env),
    ]);
  },
} satisfies ExportedHandler<Env>;
