/**
 * Grapheme clusters (user-perceived characters) of a text, as UTF-16 ranges: found in one pass by
 * the rules below where they suffice, by Intl.Segmenter where they don't.
 *
 * Clusters follow the Unicode of the runtime's Intl.Segmenter (UAX #29). Twilio's calculator
 * finds clusters with grapheme-splitter 1.0.4, which has the Unicode 10 (2017) rules and data:
 * it splits emoji sequences made since (❤️‍🔥, 🐦‍🔥, 🫱🏻‍🫲🏿, 🤝🏽) and would count one segment fewer
 * when such a sequence sits on a part boundary. We keep them whole, as the issue asks of every
 * joined emoji.
 */

/** Takes each cluster's start and end (exclusive) in UTF-16 code units, in text order. */
export interface ClusterSink {
  cluster(start: number, end: number): void;
}

const CARRIAGE_RETURN = 0x0d;
const LINE_FEED = 0x0a;

/**
 * How a code point takes part in grapheme clusters (UAX #29 Grapheme_Cluster_Break, narrowed to
 * what emoji, CJK, Latin and the scripts without conjuncts need). COMPLEX is everything whose
 * rules we leave to Intl.Segmenter: spacing marks (GB9a), prepended characters (GB9b), Indic
 * conjuncts (GB9c), Hangul jamo (GB6-8), format characters and unassigned code points.
 */
const OTHER = 0;
const PICTOGRAPHIC = 1; // Extended_Pictographic, which a ZWJ joins to a preceding one (GB11)
const EXTEND = 2;
const ZWJ = 3;
const REGIONAL = 4;
const CR = 5;
const LF = 6;
const CONTROL = 7;
const COMPLEX = 8;
const UNKNOWN = 255;

// Filled on first sight of each code point of the BMP and plane 1: 128 KiB, and no start-up cost.
const KINDS = new Uint8Array(0x20000).fill(UNKNOWN);

const CONTROL_PATTERN = /^[\p{Cc}\p{Zl}\p{Zp}]$/u;
const EXTEND_PATTERN = /^[\p{Grapheme_Extend}\p{Emoji_Modifier}]$/u;
const REGIONAL_PATTERN = /^\p{Regional_Indicator}$/u;
const PICTOGRAPHIC_PATTERN = /^\p{Extended_Pictographic}$/u;
const COMPLEX_PATTERN = /^[\p{Mc}\p{Cf}\p{Cn}\p{Cs}]$/u;

function kindOf(codePoint: number): number {
  if (codePoint < KINDS.length) {
    const known = KINDS[codePoint] ?? UNKNOWN;
    if (known !== UNKNOWN) {
      return known;
    }
    const kind = classify(codePoint);
    KINDS[codePoint] = kind;
    return kind;
  }
  if (codePoint >= 0xe0000 && codePoint <= 0xe0fff) {
    // Tags (flags of England, Scotland, Wales) and variation selectors 17-256 are Extend; the
    // rest of the plane is default-ignorable Control.
    const extend =
      (codePoint >= 0xe0020 && codePoint <= 0xe007f) ||
      (codePoint >= 0xe0100 && codePoint <= 0xe01ef);
    return extend ? EXTEND : COMPLEX;
  }
  // CJK ideographs of planes 2 and 3, private use, unassigned planes.
  return OTHER;
}

function classify(codePoint: number): number {
  if (codePoint === CARRIAGE_RETURN) {
    return CR;
  }
  if (codePoint === LINE_FEED) {
    return LF;
  }
  if (codePoint === 0x200d) {
    return ZWJ;
  }
  if (inComplexBlock(codePoint)) {
    return COMPLEX;
  }
  const char = String.fromCodePoint(codePoint);
  if (CONTROL_PATTERN.test(char)) {
    return CONTROL;
  }
  if (REGIONAL_PATTERN.test(char)) {
    return REGIONAL;
  }
  if (EXTEND_PATTERN.test(char)) {
    return isPlainExtend(codePoint) ? EXTEND : COMPLEX;
  }
  if (COMPLEX_PATTERN.test(char)) {
    return COMPLEX;
  }
  return PICTOGRAPHIC_PATTERN.test(char) ? PICTOGRAPHIC : OTHER;
}

/** Blocks whose clusters need rules beyond ours (conjuncts, Prepend letters, jamo, Thai SARA AM). */
function inComplexBlock(codePoint: number): boolean {
  return (
    (codePoint >= 0x0900 && codePoint <= 0x0eff) || // Devanagari to Lao
    (codePoint >= 0x1100 && codePoint <= 0x11ff) || // Hangul jamo
    (codePoint >= 0xa960 && codePoint <= 0xa97f) ||
    (codePoint >= 0xd7b0 && codePoint <= 0xd7ff) ||
    (codePoint >= 0x11000 && codePoint <= 0x11fff) || // Brahmi and the other Indic scripts of plane 1
    (codePoint >= 0x16d00 && codePoint <= 0x16d7f) // Kirat Rai, whose vowel signs join like jamo
  );
}

/** Extend characters that never take part in an Indic conjunct (GB9c). */
function isPlainExtend(codePoint: number): boolean {
  return (
    codePoint < 0x0900 || // combining diacritics; Cyrillic, Hebrew, Arabic and Syriac marks
    (codePoint >= 0x1ab0 && codePoint <= 0x1aff) ||
    (codePoint >= 0x1dc0 && codePoint <= 0x1dff) ||
    codePoint === 0x200c ||
    (codePoint >= 0x20d0 && codePoint <= 0x20ff) || // combining marks for symbols, keycap
    (codePoint >= 0x302a && codePoint <= 0x302f) ||
    (codePoint >= 0x3099 && codePoint <= 0x309a) || // kana voicing marks
    (codePoint >= 0xfe00 && codePoint <= 0xfe0f) || // variation selectors
    (codePoint >= 0xfe20 && codePoint <= 0xfe2f) ||
    (codePoint >= 0x1f3fb && codePoint <= 0x1f3ff) // skin tones
  );
}

/**
 * Gives `sink` each cluster of the text, found in one pass over the code units by `kindOf` and
 * `joins` alone, and returns how many there were. Undefined, part-way through, when the text holds
 * a COMPLEX code point: the caller then starts over with `segmenterClusters`.
 */
export function simpleClusters(text: string, sink: ClusterSink): number | undefined {
  let characters = 0;
  let clusterStart = 0;
  let previous = CONTROL; // no cluster rule joins anything to the start of the text
  let regionalRun = 0; // regional indicators in a row, ending with the previous code point
  let pictographicRun = false; // Extended_Pictographic Extend* ends with the previous code point
  let zwjAfterPictographic = false;
  for (let index = 0; index < text.length; ) {
    const unit = text.charCodeAt(index);
    let codePoint = unit;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const low = text.charCodeAt(index + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = ((unit - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
      }
    }
    const kind = kindOf(codePoint);
    if (kind === COMPLEX) {
      return undefined;
    }
    if (index > 0) {
      // CR LF is one cluster (GB3); every other pair goes by `joins`.
      const crLf = previous === CR && kind === LF;
      if (!crLf && !joins(previous, kind, regionalRun, zwjAfterPictographic)) {
        sink.cluster(clusterStart, index);
        clusterStart = index;
        characters += 1;
      }
    } else {
      characters = 1;
    }
    regionalRun = kind === REGIONAL ? regionalRun + 1 : 0;
    zwjAfterPictographic = kind === ZWJ && pictographicRun;
    pictographicRun = kind === PICTOGRAPHIC || (kind === EXTEND && pictographicRun);
    previous = kind;
    index += codePoint > 0xffff ? 2 : 1;
  }
  if (text.length > 0) {
    sink.cluster(clusterStart, text.length);
  }
  return characters;
}

/** Whether UAX #29 keeps the two code points in one cluster (rules GB3 to GB13, COMPLEX aside). */
function joins(
  previous: number,
  next: number,
  regionalRun: number,
  zwjAfterPictographic: boolean,
): boolean {
  if (previous === CR || previous === LF || previous === CONTROL) {
    return false; // GB4 (CR LF is handled by the caller)
  }
  if (next === CR || next === LF || next === CONTROL) {
    return false; // GB5
  }
  if (next === EXTEND || next === ZWJ) {
    return true; // GB9
  }
  if (next === PICTOGRAPHIC && previous === ZWJ) {
    return zwjAfterPictographic; // GB11
  }
  // GB12, GB13: flags pair regional indicators from the left.
  return next === REGIONAL && previous === REGIONAL && regionalRun % 2 === 1;
}

// Built once per isolate rather than per call: constructing a segmenter is not free.
const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Gives `sink` each cluster as Intl.Segmenter finds it, and returns how many there were. */
export function segmenterClusters(text: string, sink: ClusterSink): number {
  let characters = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    characters += 1;
    sink.cluster(index, index + segment.length);
  }
  return characters;
}
