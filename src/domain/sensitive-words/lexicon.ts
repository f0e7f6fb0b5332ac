/**
 * A lexicon of sensitive words compiled for matching, and the hits it finds in a text.
 *
 * Words are folded (see folding.ts) and compared unit by unit. With `skipNoise`, noise in the
 * text is skipped between a word's characters, so 敏感词 matches "敏*感 词", and the hit's span
 * runs from 敏 to 词 in the original text, but "finish it" does not hold "shit" (whitespace
 * between Latin letters separates words). A word's own noise still matches:
 * - a word without noise (敏感词) matches with any noise between its characters;
 * - a word with noise only between its characters ("加 微信", "q.q", "free money") matches with
 *   any noise there or none ("加微信", "qq", "q*q"), except that noise with whitespace between two
 *   Latin, Greek or Cyrillic letters separates words (folding.ts), in the text as in the word:
 *   "free money" matches "FREE  money" and "free - money" but not "freemoney", and "q.q" does
 *   not match "q q";
 * - a word that begins or ends with noise ("c++", "100%", "😈") matches literally (after folding).
 * Without `skipNoise`, every word matches literally (after folding).
 *
 * Every occurrence is a hit, overlapping and nested ones included: "ab", "abc" and "bc" over
 * "abcd" are three hits. Offsets are UTF-16 code units of the original text, `end` exclusive.
 */
import {
  type Automaton,
  buildAutomaton,
  type HitBuffer,
  newHitBuffer,
  SEPARATOR,
} from "./automaton";
import { foldText, NOISE, NOT_NOISE, SPACED, WHITESPACE_NOISE } from "./folding";
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

function isNoiseAt(folded: string, at: number): boolean {
  return NOISE[folded.charCodeAt(at)] !== NOT_NOISE;
}

function shapeOf(folded: string): Shape {
  const last = folded.length - 1;
  if (isNoiseAt(folded, 0) || isNoiseAt(folded, last)) {
    return "edge-noise";
  }
  for (let i = 1; i < last; i++) {
    if (isNoiseAt(folded, i)) {
      return "inner-noise";
    }
  }
  return "plain";
}

/**
 * The key of a word with inner noise when skipping noise: its runs of noise dropped, except a
 * run with whitespace between two letters of a spaced script, which becomes SEPARATOR.
 */
function keyWhenSkipping(folded: string): string {
  let key = "";
  let i = 0;
  while (i < folded.length) {
    if (!isNoiseAt(folded, i)) {
      key += folded.charAt(i);
      i++;
      continue;
    }
    let end = i;
    let whitespace = false;
    while (end < folded.length && isNoiseAt(folded, end)) {
      whitespace ||= NOISE[folded.charCodeAt(end)] === WHITESPACE_NOISE;
      end++;
    }
    const between = SPACED[folded.charCodeAt(i - 1)] === 1 && SPACED[folded.charCodeAt(end)] === 1;
    if (whitespace && between) {
      key += SEPARATOR;
    }
    i = end;
  }
  return key;
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
      gapped.push({ key: keyWhenSkipping(word), entry });
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
