/**
 * A WeChat app as its token authority needs it: its row in D1, the AppSecret decrypted. The
 * WeChatAccount object reads it before it asks WeChat for a token; the local sandbox reads it to
 * check the secret it is given, as WeChat checks it against its console.
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { WeChatResult } from "../channels/wechat/api-types";
import { WECHAT_API_BASE_URL, type WeChatTokenApp } from "../channels/wechat/token-endpoint";
import { masterKeysOf } from "../config/settings";
import { database } from "../db/client";
import { wechatApps } from "../db/schema";
import { decryptSecret } from "../lib/secrets";

const secretsSchema = z.object({ app_secret: z.string().min(1) });

/** The app's row in D1, its AppSecret decrypted. */
export async function loadTokenApp(env: Env, appId: string): Promise<WeChatResult<WeChatTokenApp>> {
  const row = await database(env.DB).query.wechatApps.findFirst({
    columns: { appId: true, secretCiphertext: true, apiBaseUrl: true, tokenEndpoint: true },
    where: eq(wechatApps.appId, appId),
  });
  if (!row) {
    return {
      ok: false,
      error: { code: "app-not-found", retryable: false, message: `No WeChat app ${appId}` },
    };
  }
  let appSecret: string;
  try {
    const plaintext = await decryptSecret(
      masterKeysOf(env),
      "provider-credentials",
      row.secretCiphertext,
    );
    appSecret = secretsSchema.parse(JSON.parse(plaintext)).app_secret;
  } catch {
    return {
      ok: false,
      error: {
        code: "bad-credentials",
        retryable: false,
        message: `The stored secrets of WeChat app ${appId} cannot be read`,
      },
    };
  }
  return {
    ok: true,
    value: {
      appId: row.appId,
      appSecret,
      apiBaseUrl: (row.apiBaseUrl ?? WECHAT_API_BASE_URL).replace(/\/+$/, ""),
      tokenEndpoint: row.tokenEndpoint,
    },
  };
}
