/** WEBHOOK_QUEUE payloads, validated by producers and consumers alike. */
import { z } from "zod";

export const webhookJobSchema = z.object({
  v: z.literal(1),
  delivery_id: z.string().min(1),
  /**
   * When this series of attempts began (ms): the delivery's creation, or its replay. Retries stop
   * 24 h after it.
   */
  series_started_at: z.number().int().nonnegative(),
  /** The send-log partition holding the delivery (delivery/send-logs), absent for the main one. */
  send_log: z.string().min(1).optional(),
});

export type WebhookJob = z.infer<typeof webhookJobSchema>;
