/**
 * A tenant's WeChat Official Accounts: the settings the webhook and the token authority need. The
 * AppSecret, Token and EncodingAESKey are encrypted at rest (AES-GCM under MASTER_KEY) and never
 * returned; the API shows the webhook URL to configure in WeChat's console.
 *
 * An app id belongs to one tenant at a time and passes to the next once deleted: deleting an app
 * deletes everything kept for it (rules, followers and their tags, inbox, contact bindings,
 * customer-service reservations, sign-in keys) in the same transaction, and the account's object
 * forgets its access token and the tenant's deliveries; registering one starts its object afresh.
 */
import { and, eq, inArray } from "drizzle-orm";
import { masterKeysOf, settingsOf } from "../../config/settings";
import { isSandboxBaseUrl, sandboxBaseUrl } from "../../config/wechat-sandbox";
import { database } from "../../db/client";
import {
  autoReplyRules,
  contactWeChatBindings,
  wechatApps,
  wechatBroadcastJobs,
  wechatBroadcastRecipients,
  wechatBroadcasts,
  wechatFollowerSyncs,
  wechatFollowers,
  wechatInbox,
  wechatMedia,
  wechatQrCodes,
  wechatServiceReservations,
  wechatSsoKeys,
} from "../../db/schema";
import { wechatAccountOf } from "../../delivery/wechat-account";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import type { WeChatMode } from "../../domain/vocabulary";
import { ApiError } from "../../lib/problem";
import { decryptSecret, encryptSecret } from "../../lib/secrets";
import { TtlCache } from "../../lib/ttl-cache";
import { audited } from "../audit/audit-log";
import { assertOutboundUrl } from "../webhooks/endpoints";

export type WeChatAppRow = typeof wechatApps.$inferSelect;

export interface WeChatSecrets {
  app_secret: string;
  token: string;
  encoding_aes_key: string;
  /** The EncodingAESKey before the last change, tried while `previous_key_until` (Unix ms) lasts. */
  previous_encoding_aes_key?: string;
  previous_key_until?: number;
}

/**
 * How long the EncodingAESKey before a change is still tried on deliveries: WeChat's console
 * takes the new key at once, but pushes under way (and their retries) may still carry the old.
 */
export const PREVIOUS_AES_KEY_GRACE_MS = 24 * 60 * 60_000;

/** The previous EncodingAESKey while its grace period lasts. */
export function previousAesKey(secrets: WeChatSecrets, now: number): string | null {
  const key = secrets.previous_encoding_aes_key;
  const until = secrets.previous_key_until ?? 0;
  return key && key !== secrets.encoding_aes_key && now < until ? key : null;
}

export interface WeChatAppInput {
  app_id: string;
  app_secret: string;
  token: string;
  encoding_aes_key: string;
  mode: WeChatMode;
  api_base_url?: string;
  token_endpoint?: "stable_token" | "token";
  /** WeChat's account type and verification: they set the mass-send quota. */
  account_type?: "subscription" | "service";
  verified?: boolean;
}

/** An app with its secrets decrypted, for the webhook (cached per isolate). */
export interface ReadyWeChatApp {
  row: WeChatAppRow;
  secrets: WeChatSecrets;
}

const APP_TTL_MS = 30_000;
const cache = new TtlCache<string, Promise<ReadyWeChatApp | null>>({ ttlMs: APP_TTL_MS });

/**
 * The previous EncodingAESKey to keep as the app's settings are replaced: the current one when
 * the key changes (for PREVIOUS_AES_KEY_GRACE_MS), else the one still in its grace period.
 */
async function keptAesKey(
  env: Env,
  existing: WeChatAppRow,
  newKey: string,
  now: number,
): Promise<Pick<WeChatSecrets, "previous_encoding_aes_key" | "previous_key_until">> {
  let old: WeChatSecrets;
  try {
    old = JSON.parse(
      await decryptSecret(masterKeysOf(env), "provider-credentials", existing.secretCiphertext),
    ) as WeChatSecrets;
  } catch {
    return {};
  }
  if (old.encoding_aes_key !== newKey) {
    return {
      previous_encoding_aes_key: old.encoding_aes_key,
      previous_key_until: now + PREVIOUS_AES_KEY_GRACE_MS,
    };
  }
  const previous = previousAesKey(old, now);
  return previous
    ? { previous_encoding_aes_key: previous, previous_key_until: old.previous_key_until }
    : {};
}

export function webhookUrl(env: Env, appId: string): string {
  return `${settingsOf(env).PUBLIC_BASE_URL}/wechat/${appId}`;
}

/** Creates the account's settings, or replaces them (another tenant's app id is a 409). */
export async function putWeChatApp(
  env: Env,
  caller: Caller,
  input: WeChatAppInput,
  now: number = Date.now(),
): Promise<{ row: WeChatAppRow; created: boolean }> {
  // The local sandbox's URL is our own (served in process), not a host to keep secrets from.
  if (input.api_base_url !== undefined && !isSandboxBaseUrl(env, input.api_base_url)) {
    assertOutboundUrl(env, input.api_base_url, "/api_base_url", "carry WeChat API calls");
  }
  const db = database(env.DB);
  const existing = await db.query.wechatApps.findFirst({
    where: eq(wechatApps.appId, input.app_id),
  });
  if (existing && existing.tenantId !== caller.tenant.id) {
    throw new ApiError("conflict", `${input.app_id} is set up by another account.`);
  }
  const secretCiphertext = await encryptSecret(
    settingsOf(env).MASTER_KEY,
    "provider-credentials",
    JSON.stringify({
      app_secret: input.app_secret,
      token: input.token,
      encoding_aes_key: input.encoding_aes_key,
      ...(existing ? await keptAesKey(env, existing, input.encoding_aes_key, now) : {}),
    } satisfies WeChatSecrets),
  );
  const values = {
    mode: input.mode,
    secretCiphertext,
    apiBaseUrl: input.api_base_url ?? null,
    tokenEndpoint: input.token_endpoint ?? "stable_token",
    accountType: input.account_type ?? "service",
    verified: input.verified ?? false,
    updatedAt: now,
  };
  const settings = (row: typeof values) => ({
    mode: row.mode,
    apiBaseUrl: row.apiBaseUrl,
    tokenEndpoint: row.tokenEndpoint,
    accountType: row.accountType,
    verified: row.verified,
    secrets: row.secretCiphertext,
  });
  const event = {
    action: existing ? "wechat_app.update" : "wechat_app.create",
    target: input.app_id,
    // A new ciphertext is new secrets (app secret, token, AES key): only that they changed.
    diff: diffOf(existing ? settings(existing) : {}, settings(values), ["secrets"]),
  };
  let rows: WeChatAppRow[];
  try {
    [rows] = await audited(env, caller, event, [
      existing
        ? db
            .update(wechatApps)
            .set(values)
            .where(
              and(eq(wechatApps.appId, input.app_id), eq(wechatApps.tenantId, caller.tenant.id)),
            )
            .returning()
        : db
            .insert(wechatApps)
            .values({ ...values, appId: input.app_id, tenantId: caller.tenant.id, createdAt: now })
            .returning(),
    ]);
  } catch (error) {
    // Another request created this app id since we looked (this tenant's or another's): the
    // whole batch, entry included, rolled back; again, it is now an update or a 409.
    if (!existing && /UNIQUE constraint failed: wechat_apps/.test(String(error))) {
      return putWeChatApp(env, caller, input, now);
    }
    throw error;
  }
  const [row] = rows;
  if (!row) {
    throw new ApiError("conflict", `${input.app_id} is set up by another account.`);
  }
  const inserted = existing ? undefined : row;
  cache.delete(input.app_id);
  if (inserted) {
    // Whatever the object kept from an earlier owner (should that owner's delete not have
    // reached it) is not the new owner's.
    await wechatAccountOf(env, input.app_id).adopt(input.app_id, caller.tenant.id);
  }
  return { row, created: inserted !== undefined };
}

export async function listWeChatApps(env: Env, caller: Caller): Promise<WeChatAppRow[]> {
  return database(env.DB)
    .select()
    .from(wechatApps)
    .where(eq(wechatApps.tenantId, caller.tenant.id))
    .orderBy(wechatApps.appId);
}

/** Another tenant's app is as missing as one that never was. */
export async function getWeChatApp(env: Env, caller: Caller, appId: string): Promise<WeChatAppRow> {
  const row = await database(env.DB).query.wechatApps.findFirst({
    where: and(eq(wechatApps.appId, appId), eq(wechatApps.tenantId, caller.tenant.id)),
  });
  if (!row) {
    throw new ApiError("not-found", `No WeChat app ${appId}.`);
  }
  return row;
}

/**
 * Test keys reach WeChat only through the local sandbox, as SMS goes only through the sandbox
 * provider: a 403 for a test key's call that would reach WeChat itself through `app`.
 */
export function refuseTestKeyOutsideSandbox(
  env: Env,
  caller: Caller,
  app: Pick<WeChatAppRow, "appId" | "apiBaseUrl">,
): void {
  if (caller.mode === "test" && !isSandboxBaseUrl(env, app.apiBaseUrl)) {
    throw new ApiError(
      "forbidden",
      `Test keys send WeChat messages only through a sandbox app (its api_base_url ${sandboxBaseUrl(env)}, on a local server); ${app.appId} calls WeChat itself: use a live key (rbx_live_…).`,
    );
  }
}

/** Deletes the app and everything kept for it; the app id is then free for any tenant. */
export async function deleteWeChatApp(env: Env, caller: Caller, appId: string): Promise<void> {
  const app = await getWeChatApp(env, caller, appId);
  const tenantId = caller.tenant.id;
  const db = database(env.DB);
  const gone = { mode: app.mode, apiBaseUrl: app.apiBaseUrl, tokenEndpoint: app.tokenEndpoint };
  await audited(
    env,
    caller,
    { action: "wechat_app.delete", target: appId, diff: diffOf(gone, {}) },
    [
      db
        .delete(autoReplyRules)
        .where(
          and(
            eq(autoReplyRules.tenantId, tenantId),
            eq(autoReplyRules.channel, "wechat"),
            eq(autoReplyRules.scope, appId),
          ),
        ),
      db
        .delete(wechatFollowers)
        .where(and(eq(wechatFollowers.tenantId, tenantId), eq(wechatFollowers.appId, appId))),
      db
        .delete(wechatInbox)
        .where(and(eq(wechatInbox.tenantId, tenantId), eq(wechatInbox.appId, appId))),
      // A sync still running finds its job gone and stops (its pages write nothing: no app row).
      db
        .delete(wechatFollowerSyncs)
        .where(
          and(eq(wechatFollowerSyncs.tenantId, tenantId), eq(wechatFollowerSyncs.appId, appId)),
        ),
      db
        .delete(contactWeChatBindings)
        .where(
          and(eq(contactWeChatBindings.tenantId, tenantId), eq(contactWeChatBindings.appId, appId)),
        ),
      db
        .delete(wechatQrCodes)
        .where(and(eq(wechatQrCodes.tenantId, tenantId), eq(wechatQrCodes.appId, appId))),
      db
        .delete(wechatServiceReservations)
        .where(
          and(
            eq(wechatServiceReservations.tenantId, tenantId),
            eq(wechatServiceReservations.appId, appId),
          ),
        ),
      db
        .delete(wechatSsoKeys)
        .where(and(eq(wechatSsoKeys.tenantId, tenantId), eq(wechatSsoKeys.appId, appId))),
      db
        .delete(wechatMedia)
        .where(and(eq(wechatMedia.tenantId, tenantId), eq(wechatMedia.appId, appId))),
      db
        .delete(wechatBroadcastJobs)
        .where(
          and(eq(wechatBroadcastJobs.tenantId, tenantId), eq(wechatBroadcastJobs.appId, appId)),
        ),
      db.delete(wechatBroadcastRecipients).where(
        inArray(
          wechatBroadcastRecipients.broadcastId,
          db
            .select({ id: wechatBroadcasts.id })
            .from(wechatBroadcasts)
            .where(and(eq(wechatBroadcasts.tenantId, tenantId), eq(wechatBroadcasts.appId, appId))),
        ),
      ),
      db
        .delete(wechatBroadcasts)
        .where(and(eq(wechatBroadcasts.tenantId, tenantId), eq(wechatBroadcasts.appId, appId))),
      db
        .delete(wechatApps)
        .where(and(eq(wechatApps.tenantId, tenantId), eq(wechatApps.appId, appId))),
    ],
  );
  cache.delete(appId);
  await wechatAccountOf(env, appId).release(appId, tenantId);
}

/** The app and its secrets for the webhook, or null for an unknown app id. */
export function readyWeChatApp(
  env: Env,
  appId: string,
  now: number = Date.now(),
): Promise<ReadyWeChatApp | null> {
  const cached = cache.get(appId, now);
  if (cached) {
    return cached;
  }
  const app = (async () => {
    const row = await database(env.DB).query.wechatApps.findFirst({
      where: eq(wechatApps.appId, appId),
    });
    if (!row) {
      return null;
    }
    const secrets = JSON.parse(
      await decryptSecret(masterKeysOf(env), "provider-credentials", row.secretCiphertext),
    ) as WeChatSecrets;
    return { row, secrets };
  })();
  cache.set(appId, app, now);
  app.catch(() => cache.delete(appId, app));
  return app;
}
