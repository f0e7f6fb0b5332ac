/**
 * The last step of rotating MASTER_KEY (README, Deploying): every secret stored encrypted (carrier
 * credentials, WeChat app secrets, webhook signing secrets, WeChat SSO signing keys, web chat
 * identity secrets) moved under the current key, so that MASTER_KEY_PREVIOUS can be removed.
 *
 * One call handles at most `limit` rows of one table, in id order, and answers a cursor for the
 * next; `npm run rotate-master-key` calls it until the cursor is null. A row is rewritten only if
 * it still holds what was read (a secret changed in between is under the current key already), and
 * each tenant's rewrites run in one batch with their audit entry. Running it again is harmless: rows
 * under the current key are counted and left alone. A row no key opens is reported, never changed.
 */
import { and, asc, eq, gt, isNotNull, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import { masterKeysOf } from "../../config/settings";
import { database } from "../../db/client";
import {
  providerSettings,
  webchatWidgetKeys,
  webhookEndpoints,
  wechatApps,
  wechatSsoKeys,
} from "../../db/schema";
import type { RequestOrigin } from "../../domain/caller";
import { ApiError } from "../../lib/problem";
import { reencryptSecret, type SecretPurpose } from "../../lib/secrets";
import { audited } from "../audit/audit-log";

interface EncryptedColumn {
  /** The table's SQL name: the cursor's and the report's name for it. */
  name: string;
  table: SQLiteTable;
  id: SQLiteColumn;
  tenantId: SQLiteColumn;
  ciphertext: SQLiteColumn;
  /** The ciphertext column's property name in the schema, for `update().set()`. */
  field: string;
  purpose: SecretPurpose;
}

/** Every column holding a value of `encryptSecret` (lib/secrets), in the order they are visited. */
export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = [
  {
    name: "provider_settings",
    table: providerSettings,
    id: providerSettings.id,
    tenantId: providerSettings.tenantId,
    ciphertext: providerSettings.secretCiphertext,
    field: "secretCiphertext",
    purpose: "provider-credentials",
  },
  {
    name: "wechat_apps",
    table: wechatApps,
    id: wechatApps.appId,
    tenantId: wechatApps.tenantId,
    ciphertext: wechatApps.secretCiphertext,
    field: "secretCiphertext",
    purpose: "provider-credentials",
  },
  {
    name: "webhook_endpoints",
    table: webhookEndpoints,
    id: webhookEndpoints.id,
    tenantId: webhookEndpoints.tenantId,
    ciphertext: webhookEndpoints.secretCiphertext,
    field: "secretCiphertext",
    purpose: "webhook-secret",
  },
  {
    name: "wechat_sso_keys",
    table: wechatSsoKeys,
    id: wechatSsoKeys.kid,
    tenantId: wechatSsoKeys.tenantId,
    ciphertext: wechatSsoKeys.privateCiphertext,
    field: "privateCiphertext",
    purpose: "sso-signing-key",
  },
  {
    name: "webchat_widget_keys",
    table: webchatWidgetKeys,
    id: webchatWidgetKeys.id,
    tenantId: webchatWidgetKeys.tenantId,
    ciphertext: webchatWidgetKeys.secretCiphertext,
    field: "secretCiphertext",
    purpose: "webchat-identity-secret",
  },
];

export const MAX_REENCRYPTION_BATCH = 100;

export interface ReencryptionPass {
  scanned: number;
  reencrypted: number;
  current: number;
  unreadable: { table: string; id: string }[];
  nextCursor: string | null;
}

/** `<table>:<last id>`; the id part is empty at a table's start. */
function parseCursor(cursor: string | undefined): { column: number; after: string } {
  if (cursor === undefined) {
    return { column: 0, after: "" };
  }
  const split = cursor.indexOf(":");
  const column = ENCRYPTED_COLUMNS.findIndex(({ name }) => name === cursor.slice(0, split));
  if (split < 0 || column < 0) {
    throw new ApiError("validation-error", "The cursor is not one this operation answered.", {
      errors: [{ pointer: "/cursor", detail: "must be a next_cursor of an earlier call" }],
    });
  }
  return { column, after: cursor.slice(split + 1) };
}

interface Rewrite {
  id: string;
  tenantId: string;
  from: string;
  to: string;
}

export async function reencryptSecrets(
  env: Env,
  request: { cursor?: string; limit: number },
  origin: RequestOrigin,
): Promise<ReencryptionPass> {
  const { column: index, after } = parseCursor(request.cursor);
  const column = ENCRYPTED_COLUMNS[index];
  if (!column) {
    return { scanned: 0, reencrypted: 0, current: 0, unreadable: [], nextCursor: null };
  }
  const db = database(env.DB);
  const keys = masterKeysOf(env);
  const rows = (await db
    .select({ id: column.id, tenantId: column.tenantId, stored: column.ciphertext })
    .from(column.table)
    .where(and(gt(column.id, after), isNotNull(column.ciphertext)) as SQL)
    .orderBy(asc(column.id))
    .limit(request.limit)
    .all()) as { id: string; tenantId: string; stored: string }[];

  const pass: ReencryptionPass = {
    scanned: rows.length,
    reencrypted: 0,
    current: 0,
    unreadable: [],
    nextCursor: null,
  };
  const rewrites = new Map<string, Rewrite[]>();
  for (const row of rows) {
    const result = await reencryptSecret(keys, column.purpose, row.stored);
    if (result.outcome === "current") {
      pass.current += 1;
    } else if (result.outcome === "unreadable") {
      pass.unreadable.push({ table: column.name, id: row.id });
    } else {
      const list = rewrites.get(row.tenantId) ?? [];
      list.push({ id: row.id, tenantId: row.tenantId, from: row.stored, to: result.stored });
      rewrites.set(row.tenantId, list);
    }
  }

  for (const [tenantId, list] of rewrites) {
    const statements = list.map((rewrite) =>
      db
        .update(column.table)
        .set({ [column.field]: rewrite.to })
        .where(and(eq(column.id, rewrite.id), eq(column.ciphertext, rewrite.from))),
    ) as unknown as BatchItem<"sqlite">[];
    const results = await audited(
      env,
      { tenantId, actor: { type: "platform", id: "platform" }, origin },
      {
        action: "secrets.re_encrypt",
        target: column.name,
        diff: { ids: { to: list.map(({ id }) => id) } },
      },
      statements,
    );
    pass.reencrypted += results.filter((result) => changesOf(result) > 0).length;
  }

  const last = rows.at(-1);
  if (last && rows.length === request.limit) {
    pass.nextCursor = `${column.name}:${last.id}`;
  } else {
    const next = ENCRYPTED_COLUMNS[index + 1];
    pass.nextCursor = next ? `${next.name}:` : null;
  }
  return pass;
}

function changesOf(result: unknown): number {
  const meta = (result as { meta?: { changes?: number } }).meta;
  return meta?.changes ?? 0;
}
