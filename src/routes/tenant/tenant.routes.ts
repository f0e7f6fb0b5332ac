import { createRoute, z } from "@hono/zod-openapi";
import { isPhoneCountry } from "../../domain/countries";
import { isPrice } from "../../domain/pricing";
import { isClockTime } from "../../domain/quiet-hours";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problems } from "../openapi-helpers";

export const Country = z
  .string()
  .refine(isPhoneCountry, "must be an ISO 3166 alpha-2 country code, e.g. CN")
  .openapi({ example: "CN" });

const ClockTime = z.string().refine(isClockTime, "must be a 24-hour time HH:MM, e.g. 21:00");

const QuietHoursSchema = z
  .object({ start: ClockTime, end: ClockTime })
  .strict()
  .openapi("QuietHours", {
    description:
      "Marketing is held between start and end in the recipient's local time, e.g. 21:00–08:00",
  });

const ConfirmationText = z.string().trim().min(1).max(500);

const OptOutConfirmationSchema = z
  .object({ zh: ConfirmationText.optional(), en: ConfirmationText.optional() })
  .strict()
  .refine((c) => c.zh !== undefined || c.en !== undefined, "give `zh`, `en` or both")
  .openapi("OptOutConfirmation", {
    description:
      "The reply sent once to a number that opts out by keyword: `zh` to Chinese numbers, `en` to the others (each falls back to the other when missing). It goes through the normal send path (limits, logs, your signature for Chinese numbers).",
  });

const Price = z
  .string()
  .refine(isPrice, "must be a decimal price with at most 6 decimals, e.g. 0.0450");

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    home_country: z.string(),
    allowed_countries: z.array(z.string()),
    send_rate: z.number().int().openapi({ description: "Messages per second; 0 pauses sending" }),
    signature: z.string().nullable(),
    currency: z.string(),
    prices: z.record(z.string(), z.string()).openapi({
      description:
        "Your price per segment by country (decimal strings in `currency`); other countries use the list prices",
    }),
    quiet_hours: QuietHoursSchema.nullable(),
    verification_opt_out_exempt: z.boolean().openapi({
      description: "Verification codes still go to numbers that opted out",
    }),
    opt_out_confirmation: OptOutConfirmationSchema.nullable(),
    created_at: z.string(),
  })
  .openapi("Tenant");

export const getTenant = createRoute({
  method: "get",
  path: "/v1/tenant",
  operationId: "getTenant",
  tags: ["Account"],
  summary: "Your account's settings",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: jsonResponse(TenantSchema, "The settings"),
    ...problems(401, 403, 429),
  },
});

export const updateTenant = createRoute({
  method: "patch",
  path: "/v1/tenant",
  operationId: "updateTenant",
  tags: ["Account"],
  summary: "Change your account's settings",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().trim().min(1).max(100).optional(),
          home_country: Country.optional(),
          allowed_countries: z.array(Country).min(1).max(250).optional(),
          send_rate: z.number().int().min(0).max(10_000).optional().openapi({
            description:
              "Messages per second the dispatcher releases; 0 pauses (accepted messages wait)",
          }),
          currency: z
            .string()
            .regex(/^[A-Z]{3}$/, "must be an ISO 4217 code, e.g. CNY")
            .optional(),
          prices: z
            .record(Country, Price)
            .refine((p) => Object.keys(p).length <= 250, "at most 250 countries")
            .optional()
            .openapi({
              description: "Replaces the whole price table",
              example: { CN: "0.0450" },
            }),
          quiet_hours: QuietHoursSchema.nullable().optional().openapi({
            description: "null turns quiet hours off",
          }),
          verification_opt_out_exempt: z.boolean().optional().openapi({
            description:
              "true: verification codes still go to numbers that opted out (off by default)",
          }),
          opt_out_confirmation: OptOutConfirmationSchema.nullable().optional().openapi({
            description: "null sends no confirmation",
          }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(TenantSchema, "The new settings"),
    ...problems(400, 401, 403, 415, 429),
  },
});
