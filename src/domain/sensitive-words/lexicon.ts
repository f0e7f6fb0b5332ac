/**
 * A lexicon of sensitive words compiled for matching, and the hits it finds in a text.
 *
 * Words are folded (see folding.ts) and compared unit by unit. With `skipNoise`, noise in the
 * text is skipped between a word's characters, so 敏感词 matches "敏*感 词", and the hit's span
 * runs from 敏 to 词 in the original text. A word's own noise still matches:
 * - a word without noise (敏感词) matches with any noise between its characters;
 * - a word with noise only between its characters ("free money", "q.q") is, when skipping noise,
 *   the same as the word without it: "free money" matches "freemoney" and "free - money";
 * - a word that begins or ends with noise ("c++", "100%", "😈") matches literally (after folding).
 * Without `skipNoise`, every word matches literally (after folding).
 *
 * Every occurrence is a hit, overlapping and nested ones included: "ab", "abc" and "bc" over
 * "abcd" are three hits. Offsets are UTF-16 code units of the original text, `end` exclusive.
 */
import { type Automaton, buildAutomaton, type HitBuffer, newHitBuffer } from "./automaton";
import { foldText, NOISE } from "./folding";
import { scanFolded, scanSkippingNoise } from "./scan";

export const WORD_POLICIES = ["block", "review", "mask"] as const;
export type WordPolicy = (typeof WORD_POLICIES)[number];

export interface LexiconEntry {
  word: string;
  policy: WordPolicy;
  category?: string | null;
}

export interface Lexicon<E extends LexiconEntry = LexiconEntry> {
  /** One entry per folded word: of entries with the same folded word, the last given. */
  readonly entries: readonly E[];
  /** Words without noise, and words with inner noise by their noise-free key. */
  readonly gapped: Automaton;
  /** Words with noise, literally: used when not skipping noise. */
  readonly literal: Automaton | null;
  /** Words beginning or ending with noise, literally: used when skipping noise. */
  readonly literalWhenSkipping: Automaton | null;
  /** 1 for entries with inner noise, which `gapped` holds by another key. */
  readonly innerNoise: Uint8Array | null;
}

export interface Hit<E extends LexiconEntry = LexiconEntry> {
  word: string;
  policy: WordPolicy;
  category: string | null;
  /** UTF-16 offset of the word's first character in the original text. */
  start: number;
  /** UTF-16 offset just past the word's last character. */
  end: number;
  entry: E;
}

export interface ScanOptions {
  /** Skip noise between a word's characters (and map spans back to the original text). */
  skipNoise?: boolean;
}

type Shape = "plain" | "inner-noise" | "edge-noise";

function shapeOf(folded: string): Shape {
  const last = folded.length - 1;
  if (NOISE[folded.charCodeAt(0)] === 1 || NOISE[folded.charCodeAt(last)] === 1) {
    return "edge-noise";
  }
  for (let i = 1; i < last; i++) {
    if (NOISE[folded.charCodeAt(i)] === 1) {
      return "inner-noise";
    }
  }
  return "plain";
}

function withoutNoise(folded: string): string {
  let out = "";
  for (let i = 0; i < folded.length; i++) {
    if (NOISE[folded.charCodeAt(i)] !== 1) {
      out += folded.charAt(i);
    }
  }
  return out;
}

/** Builds the automata for `entries` (non-empty words); later entries override earlier ones. */
export function compileLexicon<E extends LexiconEntry>(entries: readonly E[]): Lexicon<E> {
  const indexOfWord = new Map<string, number>();
  const kept: E[] = [];
  const folded: string[] = [];
  for (const entry of entries) {
    const word = foldText(entry.word);
    if (word.length === 0) {
      throw new RangeError("A sensitive word may not be empty.");
    }
    const index = indexOfWord.get(word);
    if (index === undefined) {
      indexOfWord.set(word, kept.length);
      kept.push(entry);
      folded.push(word);
    } else {
      kept[index] = entry;
    }
  }

  const gapped: { key: string; entry: number }[] = [];
  const literal: { key: string; entry: number }[] = [];
  const literalWhenSkipping: { key: string; entry: number }[] = [];
  let innerNoise: Uint8Array | null = null;
  for (const [entry, word] of folded.entries()) {
    const shape = shapeOf(word);
    if (shape === "plain") {
      gapped.push({ key: word, entry });
      continue;
    }
    literal.push({ key: word, entry });
    if (shape === "inner-noise") {
      gapped.push({ key: withoutNoise(word), entry });
      innerNoise ??= new Uint8Array(folded.length);
      innerNoise[entry] = 1;
    } else {
      literalWhenSkipping.push({ key: word, entry });
    }
  }
  return {
    entries: kept,
    gapped: buildAutomaton(gapped, true),
    literal: literal.length > 0 ? buildAutomaton(literal, false) : null,
    literalWhenSkipping:
      literalWhenSkipping.length > 0 ? buildAutomaton(literalWhenSkipping, false) : null,
    innerNoise,
  };
}

/**
 * Scans `text` into `hits` (emptied first) as entry indexes and spans: the allocation-free form
 * of `findHits`, for screening many texts with one buffer.
 */
export function scanText(
  lexicon: Lexicon<LexiconEntry>,
  text: string,
  options: ScanOptions = {},
  hits: HitBuffer = newHitBuffer(),
): HitBuffer {
  hits.count = 0;
  if (options.skipNoise) {
    scanSkippingNoise(lexicon.gapped, text, hits);
    if (lexicon.literalWhenSkipping) {
      scanFolded(lexicon.literalWhenSkipping, text, hits, null);
    }
  } else {
    scanFolded(lexicon.gapped, text, hits, lexicon.innerNoise);
    if (lexicon.literal) {
      scanFolded(lexicon.literal, text, hits, null);
    }
  }
  return hits;
}

/**
 * Every hit of `lexicon` in `text`, by end offset, longer first among those ending together.
 * `buffer` may be passed to reuse it from one text to the next.
 */
export function findHits<E extends LexiconEntry>(
  lexicon: Lexicon<E>,
  text: string,
  options: ScanOptions = {},
  buffer: HitBuffer = newHitBuffer(),
): Hit<E>[] {
  scanText(lexicon, text, options, buffer);
  const hits: Hit<E>[] = [];
  for (let i = 0; i < buffer.count; i++) {
    const entry = lexicon.entries[buffer.entries[i] ?? 0];
    if (entry) {
      hits.push({
        word: entry.word,
        policy: entry.policy,
        category: entry.category ?? null,
        start: buffer.starts[i] ?? 0,
        end: buffer.ends[i] ?? 0,
        entry,
      });
    }
  }
  const twoScans = options.skipNoise ? lexicon.literalWhenSkipping : lexicon.literal;
  if (twoScans) {
    hits.sort((a, b) => a.end - b.end || a.start - b.start);
  }
  return hits;
}

/**
 * `text` with every character inside a hit's span (noise between its characters included)
 * replaced by one `*`; a surrogate pair is one character.
 */
export function maskHits(text: string, hits: readonly { start: number; end: number }[]): string {
  if (hits.length === 0) {
    return text;
  }
  const masked = new Uint8Array(text.length);
  for (const { start, end } of hits) {
    masked.fill(1, Math.max(0, start), Math.min(text.length, end));
  }
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (masked[i] !== 1) {
      out += text.charAt(i);
      continue;
    }
    out += "*";
    const unit = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
    }
  }
  return out;
}
