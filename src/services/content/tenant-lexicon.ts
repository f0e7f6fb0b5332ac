/**
 * A tenant's own sensitive words: list, add, import, delete. A change that would leave a lexicon
 * that cannot be compiled is refused before it is written; one written drops the tenant's compiled
 * lexicon in this isolate (sensitive-words.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { sensitiveWords } from "../../db/schema";
import { diffOf } from "../../domain/audit-chain";
import type { Caller } from "../../domain/caller";
import { checkWord, type WordPolicy } from "../../domain/sensitive-words";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { failUnlessChanged, unlessLost } from "../audit/change-guard";
import { compileTenantLexicon, forgetTenantLexicon, tenantWords } from "./sensitive-words";

export type SensitiveWordRow = typeof sensitiveWords.$inferSelect;

/** Words per statement of an import: one JSON parameter each, well under D1's size limits. */
const IMPORT_CHUNK = 500;
export const MAX_IMPORT = 10_000;
/** Words per tenant: the lexicon is compiled whole on load (about 15 ms for 10,000 words, warm). */
export const MAX_TENANT_WORDS = 20_000;

export async function listSensitiveWords(
  env: Env,
  tenantId: string,
  page: PageRequest,
): Promise<Page<SensitiveWordRow>> {
  const paging = keyset(sensitiveWords.id, page);
  const rows = await database(env.DB)
    .select()
    .from(sensitiveWords)
    .where(and(eq(sensitiveWords.tenantId, tenantId), paging.after))
    .orderBy(paging.orderBy)
    .limit(paging.limit);
  return pageOf(rows, page, (row) => row.id);
}

/** Adds one word (checked by the route: `checkWord`). A word already there is a 409. */
export async function createSensitiveWord(
  env: Env,
  caller: Caller,
  input: { word: string; policy: WordPolicy },
  now: number = Date.now(),
): Promise<SensitiveWordRow> {
  const tenantId = caller.tenant.id;
  const checked = checkWord(input.word);
  if (!checked.ok) {
    throw new ApiError("validation-error", `The word ${checked.reason}.`, {
      errors: [{ pointer: "/word", detail: checked.reason }],
    });
  }
  const row: SensitiveWordRow = {
    id: newId("sw", now),
    tenantId,
    word: checked.word,
    policy: input.policy,
    createdAt: now,
  };
  const words = await tenantWords(env, tenantId);
  if (words.length >= MAX_TENANT_WORDS) {
    throw new ApiError(
      "unprocessable-entity",
      `A lexicon holds at most ${MAX_TENANT_WORDS} words, and yours is full: delete some first.`,
    );
  }
  compileTenantLexicon([...words, row]);
  // A word already there fails the whole batch (unique per tenant), so no entry records it.
  const inserted = await audited(
    env,
    caller,
    {
      action: "sensitive_word.create",
      target: row.id,
      diff: diffOf({}, { word: row.word, policy: row.policy }),
    },
    [database(env.DB).insert(sensitiveWords).values(row).returning()],
  ).then(
    ([[created]]) => created,
    (error: unknown) => {
      if (/UNIQUE constraint failed: sensitive_words/.test(String(error))) {
        return undefined;
      }
      throw error;
    },
  );
  if (!inserted) {
    const existing = await database(env.DB).query.sensitiveWords.findFirst({
      where: and(eq(sensitiveWords.tenantId, tenantId), eq(sensitiveWords.word, checked.word)),
    });
    throw new ApiError(
      "conflict",
      `"${checked.word}" is already in your lexicon${existing ? ` as ${existing.id}` : ""}; import it to change its policy.`,
      { errors: [{ pointer: "/word", detail: "already in your lexicon" }] },
    );
  }
  forgetTenantLexicon(tenantId);
  return inserted;
}

export interface ImportResult {
  /** Words added. */
  imported: number;
  /** Words already there whose policy changed. */
  updated: number;
  /** Words already there with the same policy. */
  unchanged: number;
  /** Words refused, by their index in the request. */
  rejected: { index: number; reason: string }[];
}

/** Adds words, or changes the policy of words already there (by their folded form). */
export async function importSensitiveWords(
  env: Env,
  caller: Caller,
  words: readonly { word: string; policy: WordPolicy }[],
  now: number = Date.now(),
): Promise<ImportResult> {
  const tenantId = caller.tenant.id;
  const rejected: ImportResult["rejected"] = [];
  const firstIndexOf = new Map<string, number>();
  const accepted: { word: string; policy: WordPolicy }[] = [];
  words.forEach((input, index) => {
    const checked = checkWord(input.word);
    if (!checked.ok) {
      rejected.push({ index, reason: `the word ${checked.reason}` });
      return;
    }
    const first = firstIndexOf.get(checked.word);
    if (first !== undefined) {
      rejected.push({ index, reason: `the same word as /words/${first}` });
      return;
    }
    firstIndexOf.set(checked.word, index);
    accepted.push({ word: checked.word, policy: input.policy });
  });

  const existing = new Map((await tenantWords(env, tenantId)).map((row) => [row.word, row.policy]));
  let imported = 0;
  let updated = 0;
  let unchanged = 0;
  const changes: { id: string; word: string; policy: WordPolicy }[] = [];
  for (const { word, policy } of accepted) {
    const before = existing.get(word);
    if (before === policy) {
      unchanged++;
      continue;
    }
    if (before === undefined) {
      imported++;
    } else {
      updated++;
    }
    changes.push({ id: newId("sw", now), word, policy });
  }

  if (existing.size + imported > MAX_TENANT_WORDS) {
    throw new ApiError(
      "unprocessable-entity",
      `A lexicon holds at most ${MAX_TENANT_WORDS} words: yours has ${existing.size} and this import would add ${imported}.`,
    );
  }
  if (changes.length > 0) {
    // Refused (422) before anything is written if the lexicon could not be compiled.
    const after = new Map(existing);
    for (const { word, policy } of changes) {
      after.set(word, policy);
    }
    compileTenantLexicon([...after].map(([word, policy]) => ({ word, policy })));
  }
  // Each chunk travels as one JSON parameter (D1 binds at most 100 per query); one batch, so an
  // import is applied whole or not at all.
  const db = database(env.DB);
  const statements = [];
  for (let i = 0; i < changes.length; i += IMPORT_CHUNK) {
    const chunk = JSON.stringify(changes.slice(i, i + IMPORT_CHUNK));
    // Written as literals: drizzle's D1 batch cannot bind a raw statement's parameters (it looks
    // for a prepared statement the raw query never makes), and the audit entry must share the batch.
    statements.push(
      db.run(
        sql.raw(
          `INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at)
         SELECT json_extract(value, '$.id'), ${sqlText(tenantId)}, json_extract(value, '$.word'),
                json_extract(value, '$.policy'), ${Math.trunc(now)}
         FROM json_each(${sqlText(chunk)}) WHERE true
         ON CONFLICT (tenant_id, word) DO UPDATE SET policy = excluded.policy`,
        ),
      ),
    );
  }
  if (statements.length > 0) {
    // The entry names each word's new policy (a word new to the lexicon has no `from`).
    const diff = Object.fromEntries(
      changes.map(({ word, policy }) => [word, { from: existing.get(word), to: policy }]),
    );
    await audited(
      env,
      caller,
      { action: "sensitive_word.import", target: "sensitive_words", diff },
      statements,
    );
    forgetTenantLexicon(tenantId);
  }
  return { imported, updated, unchanged, rejected };
}

export async function deleteSensitiveWord(env: Env, caller: Caller, id: string): Promise<void> {
  const tenantId = caller.tenant.id;
  const db = database(env.DB);
  const mine = and(eq(sensitiveWords.id, id), eq(sensitiveWords.tenantId, tenantId));
  const existing = await db.query.sensitiveWords.findFirst({ where: mine });
  if (!existing) {
    throw new ApiError("not-found", `No sensitive word ${id}.`);
  }
  await unlessLost(
    audited(
      env,
      caller,
      {
        action: "sensitive_word.delete",
        target: id,
        diff: diffOf({ word: existing.word, policy: existing.policy }, {}),
      },
      [db.delete(sensitiveWords).where(mine), failUnlessChanged(env)],
    ),
    () => new ApiError("not-found", `No sensitive word ${id}.`),
  );
  forgetTenantLexicon(tenantId);
}

/** A SQLite string literal: quotes doubled, the only escape SQLite's literals have. */
function sqlText(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
