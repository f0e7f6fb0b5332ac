/**
 * The opt-out line a marketing message carries (拒收请回复R to Chinese numbers, `Reply STOP to opt
 * out` elsewhere): whether a text has one already, and the text with it added when it has none.
 */

/** The opt-out line a marketing message must carry: Chinese numbers get the Chinese one. */
export function optOutLineFor(country: string): string {
  return country === "CN" ? "拒收请回复R" : "Reply STOP to opt out";
}

// The usual ways of saying it: 拒收请回复R, 回T退订, 退订回TD, 回复TD退订 to Chinese numbers;
// Reply/Text STOP, unsubscribe, opt out elsewhere. A bare "stop" is not enough ("non-stop deals"
// carries no opt-out).
const CHINESE_OPT_OUT = [/回复?\s*(?:R|TD?|N)(?![A-Za-z])/i, /退订|拒收/];
const ENGLISH_OPT_OUT = [
  /\b(?:reply|text|txt|send|sms)\s+["'“]?(?:stop|end|quit|cancel|unsubscribe)\b/i,
  /\bunsubscribe\b/i,
  /\bopt[\s-]?out\b/i,
];

/** Whether the text carries an opt-out line: the one for `country`'s readers, or any without. */
export function hasOptOutLine(text: string, country?: string): boolean {
  const patterns =
    country === undefined
      ? [...CHINESE_OPT_OUT, ...ENGLISH_OPT_OUT]
      : country === "CN"
        ? CHINESE_OPT_OUT
        : ENGLISH_OPT_OUT;
  return patterns.some((pattern) => pattern.test(text));
}

/**
 * The text with the opt-out line for the recipient's country appended when it carries none. The
 * line goes on its own line in a text of several lines, after a space otherwise, and straight
 * after text that already ends in whitespace.
 */
export function withOptOutLine(text: string, country: string, ownText: string = text): string {
  // Only the template's own words count: a variable's value ("Opt Out Olga") is not a line.
  if (hasOptOutLine(ownText, country)) {
    return text;
  }
  const line = optOutLineFor(country);
  if (text.length === 0 || /\s$/.test(text)) {
    return text + line;
  }
  return text + (text.includes("\n") ? "\n" : " ") + line;
}
