export type Encoding = "GSM-7" | "UCS-2";

export interface SegmentCount {
  encoding: Encoding;
  /** User-perceived characters (grapheme clusters). */
  characters: number;
  /** Septets for GSM-7, UTF-16 code units for UCS-2. */
  units: number;
  segments: number;
  /** Capacity of one segment in `units`: lower once a message needs more than one. */
  perSegment: number;
}

// 3GPP TS 23.038 §6.2.1, the GSM 7-bit default alphabet in code order, 16 codes a line.
// 0x1B is ESC, the switch to the extension table: it is no character of its own.
const BASIC_TABLE =
  "@£$¥èéùìòÇ\nØø\rÅå" +
  "Δ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ" +
  " !\"#¤%&'()*+,-./" +
  "0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNO" +
  "PQRSTUVWXYZÄÖÑÜ§" +
  "¿abcdefghijklmno" +
  "pqrstuvwxyzäöñüà";

// 3GPP TS 23.038 §6.2.1.1, the default extension table: each is sent as ESC + code, 2 septets.
const EXTENSION_TABLE = "\f^{}\\[~]|€";

const SEPTETS = new Map<string, 1 | 2>();
for (const char of BASIC_TABLE) {
  if (char !== "\u001b") {
    SEPTETS.set(char, 1);
  }
}
for (const char of EXTENSION_TABLE) {
  SEPTETS.set(char, 2);
}

// A single message carries 140 octets. Concatenated parts give 6 octets to the user data header
// (3GPP TS 23.040 §9.2.3.24.1), leaving 134 octets: 153 septets or 67 UTF-16 units.
const GSM7_SINGLE = 160;
const GSM7_MULTIPART = 153;
const UCS2_SINGLE = 70;
const UCS2_MULTIPART = 67;

// Built once per isolate rather than per call: constructing a segmenter is not free.
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

function graphemesOf(text: string): string[] {
  return Array.from(graphemes.segment(text), (part) => part.segment);
}

export function isGsm7(text: string): boolean {
  for (const char of text) {
    if (!SEPTETS.has(char)) {
      return false;
    }
  }
  return true;
}

export function segmentsOf(text: string): SegmentCount {
  const clusters = graphemesOf(text);
  return isGsm7(text) ? countGsm7(text, clusters.length) : countUcs2(text, clusters);
}

function countGsm7(text: string, characters: number): SegmentCount {
  let units = 0;
  const widths: number[] = [];
  for (const char of text) {
    const width = SEPTETS.get(char) ?? 1;
    widths.push(width);
    units += width;
  }
  if (units <= GSM7_SINGLE) {
    return single("GSM-7", characters, units, GSM7_SINGLE);
  }
  // A receiver decodes each part on its own, so ESC and its code must arrive in the same part.
  return { ...pack(widths, GSM7_MULTIPART), encoding: "GSM-7", characters, units };
}

function countUcs2(text: string, clusters: string[]): SegmentCount {
  const units = text.length;
  if (units <= UCS2_SINGLE) {
    return single("UCS-2", clusters.length, units, UCS2_SINGLE);
  }
  // A surrogate pair split across parts shows as two replacement glyphs, and a split emoji
  // sequence (family, skin tone, flag, keycap) as its separate pieces, so whole clusters move.
  const widths: number[] = [];
  for (const cluster of clusters) {
    if (cluster.length <= UCS2_MULTIPART) {
      widths.push(cluster.length);
    } else {
      // A cluster longer than a part cannot stay whole: keep at least each code point whole.
      for (const codePoint of cluster) {
        widths.push(codePoint.length);
      }
    }
  }
  return { ...pack(widths, UCS2_MULTIPART), encoding: "UCS-2", characters: clusters.length, units };
}

function single(
  encoding: Encoding,
  characters: number,
  units: number,
  perSegment: number,
): SegmentCount {
  // Callers refuse empty bodies; an empty text would send nothing, so it costs nothing.
  return { encoding, characters, units, segments: units === 0 ? 0 : 1, perSegment };
}

/** Fills parts greedily with indivisible pieces of the given widths. */
function pack(widths: number[], perSegment: number): { segments: number; perSegment: number } {
  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > perSegment) {
      segments += 1;
      used = 0;
    }
    used += width;
  }
  return { segments, perSegment };
}

// Characters people paste from word processors and phones that have a GSM-7 twin. Each group is
// [replacement, look-alikes]. Letters with accents are not here: dropping an accent changes the
// word, and that is the sender's call, not ours.
const LOOK_ALIKE_GROUPS: ReadonlyArray<readonly [string, string]> = [
  ["'", "\u2018\u2019\u201a\u201b\u2032\u2035\u02b9\u02bb\u02bc\u02bd\u00b4`"],
  ['"', "\u201c\u201d\u201e\u201f\u2033\u2036\u02ba\u00ab\u00bb\u301d\u301e"],
  ["-", "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63"],
  ["...", "\u2026"],
  [".", "\u3002\uff61"],
  [",", "\u3001\uff64"],
  ["/", "\u2044\u2215"],
  ["*", "\u2217"],
  ["\n", "\u0085\u2028\u2029"],
  [" ", "\t"],
  // Invisible characters a copy-paste leaves behind (zero-width space and joiners, word
  // joiner, byte order mark, soft hyphen).
  ["", "\u200b\u200c\u200d\u2060\ufeff\u00ad"],
  // Greek capitals the default alphabet leaves out because Latin letters already look the same
  ["A", "\u0391"],
  ["B", "\u0392"],
  ["E", "\u0395"],
  ["Z", "\u0396"],
  ["H", "\u0397"],
  ["I", "\u0399"],
  ["K", "\u039a"],
  ["M", "\u039c"],
  ["N", "\u039d"],
  ["O", "\u039f"],
  ["P", "\u03a1"],
  ["T", "\u03a4"],
  ["Y", "\u03a5"],
  ["X", "\u03a7"],
  // Mathematical operators drawn like the Greek capitals GSM does have
  ["Δ", "\u2206"],
  ["Π", "\u220f"],
  ["Σ", "\u2211"],
];

const LOOK_ALIKES = new Map<string, string>();
for (const [replacement, sources] of LOOK_ALIKE_GROUPS) {
  for (const source of sources) {
    LOOK_ALIKES.set(source, replacement);
  }
}

// Full-width forms (U+FF01..U+FF5E), typed on CJK keyboards, sit at a fixed offset from ASCII.
const FULL_WIDTH_FIRST = 0xff01;
const FULL_WIDTH_LAST = 0xff5e;
const FULL_WIDTH_OFFSET = 0xfee0;

function lookAlikeOf(char: string): string {
  const mapped = LOOK_ALIKES.get(char);
  if (mapped !== undefined) {
    return mapped;
  }
  const codePoint = char.codePointAt(0) ?? 0;
  if (codePoint >= FULL_WIDTH_FIRST && codePoint <= FULL_WIDTH_LAST) {
    return String.fromCodePoint(codePoint - FULL_WIDTH_OFFSET);
  }
  // Every kind of space (no-break, en, em, thin, ideographic...) reads as a space.
  if (/^\p{Zs}$/u.test(char)) {
    return " ";
  }
  return char;
}

/**
 * Replaces look-alike characters with their GSM-7 twins when that makes the whole text GSM-7.
 * Otherwise the text is returned unchanged: it goes out as UCS-2 anyway, where the originals
 * display as written and "…" costs one unit instead of three.
 */
export function smartEncode(text: string): string {
  if (isGsm7(text)) {
    return text;
  }
  // NFC first: "e" + combining acute becomes "é", which is in the basic table. NFC also maps
  // the ohm and angstrom signs to Ω and Å. It never changes what the text says.
  let replaced = "";
  for (const char of text.normalize("NFC")) {
    replaced += SEPTETS.has(char) ? char : lookAlikeOf(char);
  }
  return isGsm7(replaced) ? replaced : text;
}
