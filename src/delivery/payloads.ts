/** Versioned queue payloads, validated by producers and consumers alike. */
import { z } from "zod";

export const dispatchJobSchema = z.object({
  v: z.literal(1),
  tenant_id: z.string().min(1),
  message_id: z.string().min(1),
});

export type DispatchJob = z.infer<typeof dispatchJobSchema>;
