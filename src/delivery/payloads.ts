/** Versioned queue payloads, validated by producers and consumers alike. */
import { z } from "zod";

export const dispatchJobSchema = z.object({
  v: z.literal(1),
  tenant_id: z.string().min(1),
  message_id: z.string().min(1),
  /**
   * Set by the dispatcher on the release of a message's SMS fallback (taken back into its outbox
   * after WeChat gave up on it): only that release may claim the message while it waits for it.
   * A copy of the job that sent the WeChat part carries none (delivery/status-writer/fallback.ts).
   */
  sms_fallback: z.literal(true).optional(),
  /** The dispatcher shard that released it (domain/dispatch-shards), absent for shard 0. */
  shard: z.number().int().min(1).optional(),
  /**
   * The send-log partition holding the message (delivery/send-logs), set by the dispatcher that
   * logged it; absent for the main one.
   */
  send_log: z.string().min(1).optional(),
});

export type DispatchJob = z.infer<typeof dispatchJobSchema>;

/** One page of a follower sync (services/wechat/follower-sync.ts) on WECHAT_SYNC_QUEUE. */
export const followerSyncPageSchema = z.object({
  v: z.literal(1),
  job_id: z.string().min(1),
  tenant_id: z.string().min(1),
  app_id: z.string().min(1),
  /** Pages already done: this message is for the next one. */
  page: z.number().int().min(0),
  /** WeChat's `next_openid` to list after; "" for the first page. */
  next_openid: z.string(),
});

export type FollowerSyncPage = z.infer<typeof followerSyncPageSchema>;

/**
 * A template broadcast's fan-out (services/wechat/broadcast-fanout.ts) on WECHAT_SYNC_QUEUE beside
 * the follower sync's pages: `list` reads one page of the broadcast's followers (WeChat's listing,
 * or the page's slice of its openids) and queues its chunks; `chunk` sends one chunk's template
 * messages.
 */
export const broadcastFanoutSchema = z.discriminatedUnion("kind", [
  z.object({
    v: z.literal(1),
    kind: z.literal("broadcast_list"),
    tenant_id: z.string().min(1),
    broadcast_id: z.string().min(1),
    /** Pages already listed: this message is for the next one. */
    page: z.number().int().min(0),
    /** WeChat's `next_openid` to list after; "" for the first page. */
    next_openid: z.string(),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal("broadcast_chunk"),
    tenant_id: z.string().min(1),
    broadcast_id: z.string().min(1),
    chunk: z.number().int().min(0),
  }),
]);

export type BroadcastFanoutMessage = z.infer<typeof broadcastFanoutSchema>;
