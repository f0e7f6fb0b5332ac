/**
 * Sensitive words: the screening of texts against the built-in default lexicon and the tenant's
 * own words (which tenant-lexicon.ts lists, adds, imports and deletes).
 *
 * The default lexicon is compiled once per isolate. A tenant's lexicon (its words on top of the
 * default ones, a tenant word replacing a default entry with the same folded word) is compiled
 * on first use and cached in the isolate for CACHE_TTL_MS, and dropped at once when the tenant's
 * words change in this isolate: another isolate sees a change within the TTL.
 */
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { sensitiveWords } from "../../db/schema";
import {
  compileLexicon,
  DEFAULT_LEXICON,
  findHits,
  type Lexicon,
  type LexiconEntry,
  maskHits,
  newHitBuffer,
  type WordPolicy,
} from "../../domain/sensitive-words";
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

interface SourcedEntry extends LexiconEntry {
  source: "default" | "tenant";
}

const CACHE_TTL_MS = 30_000;
// A compiled lexicon holds a 128 KB table of symbols (one per UTF-16 unit), so an isolate keeps
// a bounded number of them.
const MAX_CACHED_TENANTS = 50;

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
export function compileTenantLexicon(
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

/** The tenant's own words, as stored (folded). */
export async function tenantWords(env: Env, tenantId: string) {
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
