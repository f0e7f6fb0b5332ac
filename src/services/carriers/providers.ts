/**
 * A tenant's provider settings: which carriers it has, their settings and credentials. Credentials
 * are encrypted at rest (AES-GCM under MASTER_KEY) and never leave this module in plain text
 * except to an adapter; the API shows only whether they are set. Each provider gets a random
 * `hook_token` for its callback URLs.
 */
import { and, eq } from "drizzle-orm";
import { settingsOf } from "../../config/settings";
import { database } from "../../db/client";
import { providerSettings } from "../../db/schema";
import { forgetReadyProviders } from "../../delivery/provider-reads";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { PROVIDER_SETTINGS } from "../../domain/providers";
import type { ProviderName } from "../../domain/vocabulary";
import { randomToken } from "../../lib/crypto";
import { newId } from "../../lib/ids";
import { ApiError, toPointer } from "../../lib/problem";
import { encryptSecret } from "../../lib/secrets";
import { audited } from "../audit/audit-log";
import { assertOutboundUrl } from "../webhooks/endpoints";
import { forgetHookToken } from "./hook-tokens";

export type ProviderRow = typeof providerSettings.$inferSelect;

export interface ProviderInput {
  enabled?: boolean;
  config: Record<string, unknown>;
  /** Left out on an update: the stored credentials stay. */
  credentials?: Record<string, unknown>;
}

/** Checks a section against the provider's schema: 400 with a pointer per field. */
function checked(
  provider: ProviderName,
  section: "config" | "credentials",
  value: Record<string, unknown>,
): Record<string, string | number | boolean> {
  const result = PROVIDER_SETTINGS[provider][section].safeParse(value);
  if (!result.success) {
    throw new ApiError(
      "validation-error",
      `The ${provider} \`${section}\` is not valid; see errors.`,
      {
        // An unknown field is one issue at its parent: point at each field instead.
        errors: result.error.issues.flatMap((issue) =>
          issue.code === "unrecognized_keys"
            ? issue.keys.map((key) => ({
                pointer: toPointer([section, ...issue.path, key]),
                detail: `unknown field \`${key}\``,
              }))
            : [{ pointer: toPointer([section, ...issue.path]), detail: issue.message }],
        ),
      },
    );
  }
  return result.data as Record<string, string | number | boolean>;
}

export async function listProviders(env: Env, caller: Caller): Promise<ProviderRow[]> {
  return database(env.DB)
    .select()
    .from(providerSettings)
    .where(eq(providerSettings.tenantId, caller.tenant.id))
    .orderBy(providerSettings.provider);
}

async function findProvider(env: Env, tenantId: string, provider: ProviderName) {
  return database(env.DB).query.providerSettings.findFirst({
    where: and(eq(providerSettings.tenantId, tenantId), eq(providerSettings.provider, provider)),
  });
}

export async function getProvider(
  env: Env,
  caller: Caller,
  provider: ProviderName,
): Promise<ProviderRow> {
  const row = await findProvider(env, caller.tenant.id, provider);
  if (!row) {
    throw new ApiError("not-found", `No settings for ${provider}.`);
  }
  return row;
}

/** Creates or replaces a provider's settings; credentials are required the first time. */
export async function putProvider(
  env: Env,
  caller: Caller,
  provider: ProviderName,
  input: ProviderInput,
  now: number = Date.now(),
): Promise<{ row: ProviderRow; created: boolean }> {
  const config = checked(provider, "config", input.config);
  if (typeof config.base_url === "string") {
    assertOutboundUrl(env, config.base_url, "/config/base_url", "carry this provider's requests");
  }
  const existing = await findProvider(env, caller.tenant.id, provider);
  let secretCiphertext = existing?.secretCiphertext ?? null;
  if (input.credentials !== undefined) {
    const credentials = checked(provider, "credentials", input.credentials);
    secretCiphertext = await encryptSecret(
      settingsOf(env).MASTER_KEY,
      "provider-credentials",
      JSON.stringify(credentials),
    );
  } else if (!existing && provider !== "sandbox") {
    throw new ApiError("validation-error", `${provider} needs its credentials.`, {
      errors: [{ pointer: "/credentials", detail: "required when a provider is first set up" }],
    });
  }
  const db = database(env.DB);
  const enabled = input.enabled ?? existing?.enabled ?? true;
  const before = existing
    ? { enabled: existing.enabled, config: existing.config, credentials: existing.secretCiphertext }
    : {};
  const after = { enabled, config, credentials: secretCiphertext };
  const [[row]] = await audited(
    env,
    caller,
    {
      action: existing ? "provider.update" : "provider.create",
      target: provider,
      // Credentials show only that they changed: a new ciphertext is a new secret.
      diff: diffOf(before, after, ["credentials"]),
    },
    [
      existing
        ? db
            .update(providerSettings)
            .set({ config, secretCiphertext, enabled, updatedAt: now })
            .where(eq(providerSettings.id, existing.id))
            .returning()
        : db
            .insert(providerSettings)
            .values({
              id: newId("prv", now),
              tenantId: caller.tenant.id,
              provider,
              enabled,
              config,
              secretCiphertext,
              hookToken: randomToken(32),
              createdAt: now,
              updatedAt: now,
            })
            .returning(),
    ],
  );
  if (!row) {
    throw new Error(`provider settings for ${provider} vanished`);
  }
  forgetReadyProviders(caller.tenant.id);
  return { row, created: !existing };
}

export async function deleteProvider(
  env: Env,
  caller: Caller,
  provider: ProviderName,
): Promise<void> {
  const row = await getProvider(env, caller, provider);
  await audited(
    env,
    caller,
    {
      action: "provider.delete",
      target: provider,
      diff: diffOf({ enabled: row.enabled, config: row.config }, {}),
    },
    [database(env.DB).delete(providerSettings).where(eq(providerSettings.id, row.id))],
  );
  forgetReadyProviders(caller.tenant.id);
}

/** A new hook token: callbacks with the old one are refused from now on. */
export async function rotateHookToken(
  env: Env,
  caller: Caller,
  provider: ProviderName,
  now: number = Date.now(),
): Promise<ProviderRow> {
  const row = await getProvider(env, caller, provider);
  const [[updated]] = await audited(
    env,
    caller,
    {
      action: "provider.rotate_hook_token",
      target: provider,
      diff: diffOf({ hookToken: row.hookToken }, { hookToken: "" }, ["hookToken"]),
    },
    [
      database(env.DB)
        .update(providerSettings)
        .set({ hookToken: randomToken(32), updatedAt: now })
        .where(eq(providerSettings.id, row.id))
        .returning(),
    ],
  );
  if (!updated) {
    throw new Error(`provider settings for ${provider} vanished`);
  }
  forgetReadyProviders(caller.tenant.id);
  forgetHookToken(provider, row.hookToken);
  return updated;
}

/**
 * The callback URLs to configure at the carrier: delivery receipts and inbound messages (for the
 * sandbox, the URL a local "phone" posts `{from, to?, body}` to).
 */
export function callbackUrls(env: Env, row: ProviderRow): { status: string; inbound: string } {
  const base = `${settingsOf(env).PUBLIC_BASE_URL}/hooks/sms/${row.provider}/${row.hookToken}`;
  return { status: `${base}/status`, inbound: `${base}/inbound` };
}
