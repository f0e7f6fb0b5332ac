/**
 * What each provider needs to be configured: its non-secret settings and its credentials, checked
 * with zod when a tenant saves them. Keys are snake_case, as the API shows them and as the
 * adapters read them (src/channels/sms/*).
 */
import { z } from "zod";

// Defaults to the carrier's own endpoint; tests and local runs point it at a fake.
const baseUrl = z.url().optional();
// Well inside the consumer's 60 s claim on a message, so no call can outlive the claim.
const timeoutMs = z.number().int().min(100).max(30_000).optional();

export const PROVIDER_SETTINGS = {
  sandbox: {
    config: z.object({}).strict(),
    credentials: z.object({}).strict(),
  },
  twilio: {
    config: z
      .object({
        account_sid: z
          .string()
          .regex(
            /^AC[0-9a-fA-F]{32}$/,
            "must be AC followed by 32 hex digits: the Account SID on the Twilio Console's home page",
          ),
        messaging_service_sid: z
          .string()
          .regex(
            /^MG[0-9a-fA-F]{32}$/,
            "must be MG followed by 32 hex digits: a Messaging Service's SID",
          )
          .optional(),
        from: z.string().min(1).max(32).optional(),
        base_url: baseUrl,
        timeout_ms: timeoutMs,
      })
      .strict(),
    credentials: z.object({ auth_token: z.string().min(16).max(128) }).strict(),
  },
  aliyun: {
    config: z
      .object({
        access_key_id: z.string().min(8).max(64),
        sign_name: z.string().min(1).max(30).optional(),
        region: z.string().min(1).max(40).optional(),
        base_url: baseUrl,
        timeout_ms: timeoutMs,
      })
      .strict(),
    credentials: z.object({ access_key_secret: z.string().min(8).max(128) }).strict(),
  },
  tencent: {
    config: z
      .object({
        secret_id: z.string().min(8).max(64),
        sms_sdk_app_id: z.string().regex(/^\d{6,16}$/, "the SmsSdkAppId is digits"),
        sign_name: z.string().min(1).max(30).optional(),
        region: z.string().min(1).max(40).optional(),
        base_url: baseUrl,
        timeout_ms: timeoutMs,
      })
      .strict(),
    credentials: z.object({ secret_key: z.string().min(8).max(128) }).strict(),
  },
} as const;

export type ConfiguredProvider = keyof typeof PROVIDER_SETTINGS;
