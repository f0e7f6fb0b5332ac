/**
 * Vars and secrets, checked once per isolate with zod: a bad deployment fails loudly on its first
 * request instead of misbehaving later.
 */
import { z } from "zod";

const positiveInt = z.coerce.number().int().positive();
const nonNegative = z.coerce.number().nonnegative();

const masterKey = z
  .string()
  .refine((value) => base64Length(value) === 32, "must be the base64 of 32 random bytes");

const settingsSchema = z.object({
  ENVIRONMENT: z.string().default("development"),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  RECEIPT_DEADLINE_SECONDS: positiveInt,
  RETRY_BASE_SECONDS: nonNegative,
  RETRY_MAX_SECONDS: nonNegative,
  MAX_ATTEMPTS: positiveInt,
  RELEASE_TIMEOUT_SECONDS: positiveInt,
  PUBLIC_BASE_URL: z.url(),
  /** Rows per D1 read of `GET /v1/messages/export` (the tests set a few to cross pages). */
  EXPORT_PAGE_SIZE: positiveInt.max(1000).default(500),
  /** Development only: "true" lets webhook endpoints be on 127.0.0.1 (README, Webhooks). */
  WEBHOOK_ALLOW_LOCAL_HTTP: z.stringbool().default(false),
  /** Development only: serves the WeChat sandbox (README, WeChat, locally). */
  WECHAT_SANDBOX_ENABLED: z.stringbool().default(false),
  MASTER_KEY: masterKey,
  /**
   * The key before the last rotation (README, Deploying): values still encrypted or hashed under it
   * keep working until `npm run rotate-master-key` has re-encrypted them; then it is removed.
   */
  MASTER_KEY_PREVIOUS: z.preprocess(
    (value) => (value === "" ? undefined : value),
    masterKey.optional(),
  ),
  /**
   * The platform admin's key for `/v1/platform/*` (middleware/platform-key). Unset (or empty), the
   * platform routes refuse every request.
   */
  PLATFORM_KEY: z.preprocess(
    (value) => (value === "" ? undefined : value),
    z
      .string()
      .regex(/^rbx_platform_[A-Za-z0-9]{32}$/, "must be rbx_platform_ and 32 letters or digits")
      .optional(),
  ),
});

function base64Length(value: string): number {
  try {
    return atob(value).length;
  } catch {
    return -1;
  }
}

export type Settings = z.infer<typeof settingsSchema>;

/** The keys a stored value may be under, the current one first (then MASTER_KEY_PREVIOUS). */
export function masterKeysOf(env: Env): readonly string[] {
  const { MASTER_KEY, MASTER_KEY_PREVIOUS } = settingsOf(env);
  return MASTER_KEY_PREVIOUS && MASTER_KEY_PREVIOUS !== MASTER_KEY
    ? [MASTER_KEY, MASTER_KEY_PREVIOUS]
    : [MASTER_KEY];
}

const cache = new WeakMap<object, Settings>();

export function settingsOf(env: Env): Settings {
  const cached = cache.get(env);
  if (cached) {
    return cached;
  }
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Relaybox configuration is invalid: ${issues}`);
  }
  cache.set(env, parsed.data);
  return parsed.data;
}
