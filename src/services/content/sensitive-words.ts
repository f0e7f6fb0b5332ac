/**
 * Sensitive words: the tenant's own lexicon (list, create, import, delete) and the screening of
 * texts against it and the built-in default lexicon.
 *
 * The default lexicon is compiled once per isolate. A tenant's lexicon (its words on top of the
 * default ones, a tenant word replacing a default entry with the same folded word) is compiled
 * on first use and cached in the isolate for CACHE_TTL_MS, and dropped at once when the tenant's
 * words change in this isolate: another isolate sees a change within the TTL.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../../db/client";
import { keyset, type Page, type PageRequest, pageOf } from "../../db/paging";
import { sensitiveWords } from "../../db/schema";
import {
  checkWord,
  compileLexicon,
  DEFAULT_LEXICON,
  findHits,
  type Lexicon,
  type LexiconEntry,
  maskHits,
  newHitBuffer,
  type WordPolicy,
} from "../../domain/sensitive-words";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { TtlCache } from "../../lib/ttl-cache";

export interface SensitiveHit {
  word: string;
  category: string | null;
  policy: "block" | "review" | "mask";
  /** UTF-16 offsets in the screened text, `end` exclusive. */
  start: number;
  end: number;
  source: "default" | "tenant";
}

export interface Screening {
  hits: SensitiveHit[];
  verdict: "allow" | "review" | "block";
  /** The text with `mask` hits starred. */
  masked: string;
}

export type Screener = (text: string) => Screening;

export type SensitiveWordRow = typeof sensitiveWords.$inferSelect;

interface SourcedEntry extends LexiconEntry {
  source: "default" | "tenant";
}

const CACHE_TTL_MS = 30_000;
// A compiled lexicon holds a 128 KB table of symbols (one per UTF-16 unit), so an isolate keeps
// a bounded number of them.
const MAX_CACHED_TENANTS = 50;
/** Words per statement of an import: one JSON parameter each, well under D1's size limits. */
const IMPORT_CHUNK = 500;
export const MAX_IMPORT = 10_000;
/** Words per tenant: the lexicon is compiled whole on load (about 15 ms for 10,000 words, warm). */
export const MAX_TENANT_WORDS = 20_000;

let defaultLexicon: Lexicon<SourcedEntry> | null = null;

function defaultEntries(): SourcedEntry[] {
  return DEFAULT_LEXICON.map((entry) => ({ ...entry, source: "default" as const }));
}

function compiledDefault(): Lexicon<SourcedEntry> {
  defaultLexicon ??= compileLexicon(defaultEntries());
  return defaultLexicon;
}

/** Screens texts against one compiled lexicon, reusing one hit buffer (screening is synchronous). */
export function screenerFor(lexicon: Lexicon<SourcedEntry>): Screener {
  const buffer = newHitBuffer();
  return (text) => {
    const found = findHits(lexicon, text, { skipNoise: true }, buffer);
    const hits: SensitiveHit[] = found.map((hit) => ({
      word: hit.word,
      category: hit.category,
      policy: hit.policy,
      start: hit.start,
      end: hit.end,
      source: hit.entry.source,
    }));
    const verdict = hits.some((hit) => hit.policy === "block")
      ? "block"
      : hits.some((hit) => hit.policy === "review")
        ? "review"
        : "allow";
    const masked = maskHits(
      text,
      hits.filter((hit) => hit.policy === "mask"),
    );
    return { hits, verdict, masked };
  };
}

const cache = new TtlCache<string, Promise<Screener>>({
  ttlMs: CACHE_TTL_MS,
  maxEntries: MAX_CACHED_TENANTS,
});

/** Drops a tenant's compiled lexicon in this isolate (after its words changed). */
export function forgetTenantLexicon(tenantId: string): void {
  cache.delete(tenantId);
}

function tenantEntries(words: readonly { word: string; policy: WordPolicy }[]): SourcedEntry[] {
  // Later entries win: a tenant's word replaces the default entry with the same folded word.
  return [
    ...defaultEntries(),
    ...words.map((row) => ({
      word: row.word,
      policy: row.policy,
      category: null,
      source: "tenant" as const,
    })),
  ];
}

/** Compiles a tenant's lexicon, or refuses (422) one using too many distinct characters. */
function compileTenantLexicon(
  words: readonly { word: string; policy: WordPolicy }[],
): Lexicon<SourcedEntry> {
  try {
    return compileLexicon(tenantEntries(words));
  } catch (error) {
    if (error instanceof RangeError) {
      throw new ApiError(
        "unprocessable-entity",
        `Your sensitive words can't be used: ${error.message}`,
      );
    }
    throw error;
  }
}

async function tenantWords(env: Env, tenantId: string) {
  return database(env.DB)
    .select({ word: sensitiveWords.word, policy: sensitiveWords.policy })
    .from(sensitiveWords)
    .where(eq(sensitiveWords.tenantId, tenantId));
}

async function compileTenant(env: Env, tenantId: string): Promise<Screener> {
  const words = await tenantWords(env, tenantId);
  return screenerFor(words.length === 0 ? compiledDefault() : compileTenantLexicon(words));
}

/**
 * The tenant's screener, for screening many texts (a batch) with one load: call it per text.
 */
export function loadScreener(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<Screener> {
  const cached = cache.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const screener = compileTenant(env, tenantId);
  cache.set(tenantId, screener, now);
  // A failed load is not cached.
  screener.catch(() => {
    cache.delete(tenantId, screener);
  });
  return screener;
}

export async function screenText(env: Env, tenantId: string, text: string): Promise<Screening> {
  return (await loadScreener(env, tenantId))(text);
}

/**
 * Throws ApiError 422 (slug "unprocessable-entity") when the verdict is block, with errors:
 * [{pointer, detail}] per blocked hit (detail names the word and its span) and extensions {hits}
 * (every hit of the screening, blocked or not).
 */
export function refuseBlocked(screening: Screening, pointer: string): void {
  if (screening.verdict !== "block") {
    return;
  }
  const blocked = screening.hits.filter((hit) => hit.policy === "block");
  const words = [...new Set(blocked.map((hit) => `"${hit.word}"`))].join(", ");
  throw new ApiError(
    "unprocessable-entity",
    `The text contains blocked words: ${words}. Remove them and send it again.`,
    {
      errors: blocked.map((hit) => ({
        pointer,
        detail: `contains the blocked word "${hit.word}" at ${hit.start}–${hit.end}`,
      })),
      extensions: { hits: screening.hits },
    },
  );
}

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
