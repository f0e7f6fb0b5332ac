/** When an auto-reply rule answers (SMS and WeChat rules alike; domain/auto-replies). */
import { z } from "@hono/zod-openapi";

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM, 24-hour");

export const ActiveWindowSchema = z
  .object({
    days: z
      .array(z.number().int().min(1).max(7))
      .min(1)
      .max(7)
      .openapi({ description: "ISO weekdays: 1 Monday … 7 Sunday" }),
    start: Clock,
    end: Clock.openapi({
      description: "Before `start`: the window runs past midnight; equal: the whole day",
    }),
  })
  .strict()
  .openapi("ActiveWindow", {
    description: "When the rule answers, in the tenant's zone (its home country's)",
  });
