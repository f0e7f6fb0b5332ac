/**
 * A tenant's own sensitive words: list, add, import, delete. A change that would leave a lexicon
 * that cannot be compiled is refused before it is written; one written drops the tenant's compiled
 * lexicon in this isolate (sensitive-words.ts).
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { sensitiveWords } from "../../db/schema";
import { checkWord, type WordPolicy } from "../../domain/sensitive-words";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
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
  tenantId: string,
  input: { word: string; policy: WordPolicy },
  now: number = Date.now(),
): Promise<SensitiveWordRow> {
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
  const [inserted] = await database(env.DB)
    .insert(sensitiveWords)
    .values(row)
    .onConflictDoNothing()
    .returning();
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
  tenantId: string,
  words: readonly { word: string; policy: WordPolicy }[],
  now: number = Date.now(),
): Promise<ImportResult> {
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
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < changes.length; i += IMPORT_CHUNK) {
    statements.push(
      env.DB.prepare(
        `INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at)
         SELECT json_extract(value, '$.id'), ?1, json_extract(value, '$.word'),
                json_extract(value, '$.policy'), ?2
         FROM json_each(?3) WHERE true
         ON CONFLICT (tenant_id, word) DO UPDATE SET policy = excluded.policy`,
      ).bind(tenantId, now, JSON.stringify(changes.slice(i, i + IMPORT_CHUNK))),
    );
  }
  if (statements.length > 0) {
    await env.DB.batch(statements);
    forgetTenantLexicon(tenantId);
  }
  return { imported, updated, unchanged, rejected };
}

export async function deleteSensitiveWord(env: Env, tenantId: string, id: string): Promise<void> {
  const deleted = await database(env.DB)
    .delete(sensitiveWords)
    .where(and(eq(sensitiveWords.id, id), eq(sensitiveWords.tenantId, tenantId)))
    .returning({ id: sensitiveWords.id });
  if (deleted.length === 0) {
    throw new ApiError("not-found", `No sensitive word ${id}.`);
  }
  forgetTenantLexicon(tenantId);
}
