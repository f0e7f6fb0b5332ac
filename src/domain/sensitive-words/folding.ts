/**
 * Text folding and noise for sensitive-word matching, as two 65,536-entry tables indexed by UTF-16
 * code unit. Folding maps one code unit to one code unit, so an offset in the folded text is the
 * same offset in the original.
 *
 * Folded: ASCII and common Latin, Greek and Cyrillic capitals to lower case; full-width ASCII
 * (U+FF01–FF5E) to ASCII; the ideographic space to a space; circled letters and digits (ⓐ, Ⓐ, ①)
 * to plain ones; and Cyrillic letters that look Latin (а е о р с у х і ј ѕ) to the Latin ones,
 * since "pаypal" with a Cyrillic а is a classic spam spelling.
 *
 * Noise (skipped between a word's characters when matching with `skipNoise`): whitespace and
 * control characters; ASCII punctuation and symbols (* . _ - | / \ ~ and the rest); Latin-1
 * punctuation (· « » ¡ ¿ § ×…); combining diacritical marks; General Punctuation (dashes, quotes,
 * • … and the zero-width characters U+200B–200F, U+2060–206F); arrows, mathematical operators,
 * technical symbols, box drawing, geometric shapes, miscellaneous symbols and dingbats
 * (U+2190–23FF, U+2500–27FF, U+2900–2BFF, U+2E00–2E7F); CJK punctuation (、 。 〃 brackets 〜 …),
 * the katakana middle dot ・; variation selectors and CJK compatibility, small and half-width
 * punctuation forms; full-width signs (￥ ￡ …); U+FEFF and U+FFFD; and emoji and other symbols of
 * the supplementary planes (high surrogates D83C–D83E and DB40, and every low surrogate).
 * Letters, digits and ideographs of every script are never noise.
 *
 * Whitespace (the JavaScript `\s` set) is noise too, but between two letters or digits of the
 * scripts that put spaces between words (Latin, Greek, Cyrillic), a run of noise with whitespace
 * in it separates words instead of being skipped: "finish it" must not hold "shit". Such a run
 * matches whitespace inside a lexicon word, so "free money" matches "FREE  money" and
 * "free - money". Without whitespace the run is skipped: "f.u.c.k" holds "fuck".
 */

const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const CASE_OFFSET = 0x20;
const FULL_WIDTH_FIRST = 0xff01;
const FULL_WIDTH_LAST = 0xff5e;
const FULL_WIDTH_OFFSET = 0xfee0;

/** Capitals to fold with `toLowerCase` when it gives one code unit: Latin-1, Latin Extended, Greek, Cyrillic. */
const CASED_RANGES: readonly (readonly [number, number])[] = [
  [0x00c0, 0x024f],
  [0x0370, 0x03ff],
  [0x0400, 0x052f],
  [0x1e00, 0x1eff],
];

/** Cyrillic letters drawn like Latin ones, after lower-casing. */
const LOOK_ALIKES = "а:a е:e о:o р:p с:c у:y х:x і:i ј:j ѕ:s";

const NOISE_RANGES: readonly (readonly [number, number])[] = [
  [0x0000, 0x0020],
  [0x0021, 0x002f],
  [0x003a, 0x0040],
  [0x005b, 0x0060],
  [0x007b, 0x009f],
  [0x00a0, 0x00a9],
  [0x00ab, 0x00b1],
  [0x00b4, 0x00b4],
  [0x00b6, 0x00b8],
  [0x00bb, 0x00bb],
  [0x00bf, 0x00bf],
  [0x00d7, 0x00d7],
  [0x00f7, 0x00f7],
  [0x0300, 0x036f],
  [0x2000, 0x206f],
  [0x20d0, 0x20ff],
  [0x2190, 0x23ff],
  [0x2500, 0x27ff],
  [0x2900, 0x2bff],
  [0x2e00, 0x2e7f],
  [0x3000, 0x3004],
  [0x3008, 0x3020],
  [0x3030, 0x3030],
  [0x303d, 0x303f],
  [0x30fb, 0x30fb],
  [0xd83c, 0xd83e],
  [0xdb40, 0xdb40],
  [0xdc00, 0xdfff],
  [0xfe00, 0xfe1f],
  [0xfe30, 0xfe6f],
  [0xfeff, 0xfeff],
  [0xff5f, 0xff65],
  [0xffe0, 0xffee],
  [0xfff9, 0xfffd],
];

function buildFoldTable(): Uint16Array {
  const fold = new Uint16Array(0x10000);
  for (let unit = 0; unit < fold.length; unit++) {
    fold[unit] = unit;
  }
  for (let unit = UPPER_A; unit <= UPPER_Z; unit++) {
    fold[unit] = unit + CASE_OFFSET;
  }
  for (const [first, last] of CASED_RANGES) {
    for (let unit = first; unit <= last; unit++) {
      const lower = String.fromCharCode(unit).toLowerCase();
      if (lower.length === 1) {
        fold[unit] = lower.charCodeAt(0);
      }
    }
  }
  for (const pair of LOOK_ALIKES.split(" ")) {
    const [cyrillic = "", latin = ""] = pair.split(":");
    const upper = cyrillic.toUpperCase().charCodeAt(0);
    fold[cyrillic.charCodeAt(0)] = latin.charCodeAt(0);
    fold[upper] = latin.charCodeAt(0);
  }
  for (let unit = FULL_WIDTH_FIRST; unit <= FULL_WIDTH_LAST; unit++) {
    const ascii = unit - FULL_WIDTH_OFFSET;
    fold[unit] = ascii >= UPPER_A && ascii <= UPPER_Z ? ascii + CASE_OFFSET : ascii;
  }
  fold[0x3000] = 0x20;
  // Circled letters Ⓐ–Ⓩ and ⓐ–ⓩ, circled digits ①–⑨.
  for (let i = 0; i < 26; i++) {
    fold[0x24b6 + i] = 0x61 + i;
    fold[0x24d0 + i] = 0x61 + i;
  }
  for (let i = 0; i < 9; i++) {
    fold[0x2460 + i] = 0x31 + i;
  }
  return fold;
}

/** Every UTF-16 code unit's folded form. */
export const FOLD: Uint16Array = buildFoldTable();

/** `\s` in JavaScript regular expressions: the whitespace among the noise. */
const WHITESPACE = /\s/;

/** Noise kinds in NOISE. */
export const NOT_NOISE = 0;
export const NOISE_MARK = 1;
export const WHITESPACE_NOISE = 2;

function buildNoiseTable(): Uint8Array {
  const noiseOfFolded = new Uint8Array(0x10000);
  for (const [first, last] of NOISE_RANGES) {
    noiseOfFolded.fill(1, first, last + 1);
  }
  // Indexed by the original code unit: whether its folded form is noise (Ⓐ folds to a letter).
  const noise = new Uint8Array(0x10000);
  for (let unit = 0; unit < noise.length; unit++) {
    const folded = FOLD[unit] ?? unit;
    if (noiseOfFolded[folded] === 1) {
      noise[unit] = WHITESPACE.test(String.fromCharCode(folded)) ? WHITESPACE_NOISE : NOISE_MARK;
    }
  }
  return noise;
}

/** For every UTF-16 code unit, whether it is noise once folded, and whitespace. */
export const NOISE: Uint8Array = buildNoiseTable();

/**
 * For each folded unit, the other units that fold to it: `FOLDED_FROM_UNITS` from
 * `FOLDED_FROM_START[f]` to `FOLDED_FROM_START[f + 1]` (counting sort over FOLD).
 */
function buildFoldSources(): { starts: Int32Array; units: Uint16Array } {
  const starts = new Int32Array(0x10001);
  for (let unit = 0; unit < 0x10000; unit++) {
    const folded = FOLD[unit] ?? unit;
    if (folded !== unit) {
      starts[folded + 1] = (starts[folded + 1] ?? 0) + 1;
    }
  }
  for (let folded = 0; folded < 0x10000; folded++) {
    starts[folded + 1] = (starts[folded + 1] ?? 0) + (starts[folded] ?? 0);
  }
  const units = new Uint16Array(starts[0x10000] ?? 0);
  const filled = starts.slice(0, 0x10000);
  for (let unit = 0; unit < 0x10000; unit++) {
    const folded = FOLD[unit] ?? unit;
    if (folded !== unit) {
      units[filled[folded] ?? 0] = unit;
      filled[folded] = (filled[folded] ?? 0) + 1;
    }
  }
  return { starts, units };
}

const foldSources = buildFoldSources();
export const FOLDED_FROM_START: Int32Array = foldSources.starts;
export const FOLDED_FROM_UNITS: Uint16Array = foldSources.units;

export function foldText(text: string): string {
  let out = "";
  let from = 0;
  // Appends unchanged runs whole, so text that is already folded costs one pass and no copies.
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const folded = FOLD[unit] ?? unit;
    if (folded !== unit) {
      out += text.slice(from, i) + String.fromCharCode(folded);
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

export function isNoise(unit: number): boolean {
  return NOISE[unit] !== NOT_NOISE;
}

/** Digits and letters of Latin, Greek and Cyrillic, once folded: scripts that space words. */
const SPACED_RANGES: readonly (readonly [number, number])[] = [
  [0x0030, 0x0039],
  [0x0061, 0x007a],
  [0x00df, 0x00f6],
  [0x00f8, 0x024f],
  [0x0370, 0x03ff],
  [0x0400, 0x052f],
  [0x1e00, 0x1eff],
];

function buildSpacedTable(): Uint8Array {
  const spacedOfFolded = new Uint8Array(0x10000);
  for (const [first, last] of SPACED_RANGES) {
    spacedOfFolded.fill(1, first, last + 1);
  }
  const spaced = new Uint8Array(0x10000);
  for (let unit = 0; unit < spaced.length; unit++) {
    if (NOISE[unit] === NOT_NOISE) {
      spaced[unit] = spacedOfFolded[FOLD[unit] ?? unit] ?? 0;
    }
  }
  return spaced;
}

/** 1 for every UTF-16 code unit that is, once folded, a letter or digit of a spaced script. */
export const SPACED: Uint8Array = buildSpacedTable();
