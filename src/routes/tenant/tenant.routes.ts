import { createRoute, z } from "@hono/zod-openapi";
import { isPhoneCountry } from "../../domain/countries";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, problems } from "../common";

const Country = z
  .string()
  .refine(isPhoneCountry, "must be an ISO 3166 alpha-2 country code, e.g. CN")
  .openapi({ example: "CN" });

export const TenantSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    home_country: z.string(),
    allowed_countries: z.array(z.string()),
    send_rate: z.number().int().openapi({ description: "Messages per second; 0 pauses sending" }),
    signature: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Tenant");

export const getTenant = createRoute({
  method: "get",
  path: "/v1/tenant",
  tags: ["Account"],
  summary: "Your account's settings",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  responses: {
    200: { description: "The settings", content: { "application/json": { schema: TenantSchema } } },
    ...problems(401, 403, 429),
  },
});

export const updateTenant = createRoute({
  method: "patch",
  path: "/v1/tenant",
  tags: ["Account"],
  summary: "Change your account's settings",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .object({
              name: z.string().trim().min(1).max(100).optional(),
              home_country: Country.optional(),
              allowed_countries: z.array(Country).min(1).max(250).optional(),
              send_rate: z.number().int().min(0).max(10_000).optional().openapi({
                description:
                  "Messages per second the dispatcher releases; 0 pauses (accepted messages wait)",
              }),
            })
            .strict(),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The new settings",
      content: { "application/json": { schema: TenantSchema } },
    },
    ...problems(400, 401, 403, 415, 429),
  },
});
