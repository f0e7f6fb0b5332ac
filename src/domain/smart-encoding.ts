import { isGsm7, septetsOf } from "./gsm7";

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
  // Single angle quotes, double exclamation mark and bullet, mapped as Twilio's smart encoding does
  ["<", "\u2039"],
  [">", "\u203a"],
  ["!!", "\u203c"],
  ["-", "\u2022"],
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
    replaced += septetsOf(char.charCodeAt(0)) > 0 ? char : lookAlikeOf(char);
  }
  return isGsm7(replaced) ? replaced : text;
}
