/**
 * The keywords by which a person stops a tenant's messages, or starts them again, by replying.
 * The whole reply must be the keyword: "STOP" opts out, "please don't stop" does not. Case,
 * width (full-width ＳＴＯＰ, typed on a Chinese keyboard) and the spaces, punctuation and symbols
 * around it are ignored.
 */

/** English words carriers honour, and the Chinese ones (退订, 回T/TD/N/R) our marketing names. */
export const OPT_OUT_KEYWORDS = [
  "STOP",
  "STOPALL",
  "UNSUBSCRIBE",
  "END",
  "QUIT",
  "CANCEL",
  "REVOKE",
  "OPTOUT",
  "TD",
  "T",
  "N",
  "R",
  "退订",
  "取消",
  "拒收",
  "退订短信",
] as const;

export const OPT_IN_KEYWORDS = ["START", "UNSTOP", "YES", "订阅"] as const;

export type KeywordIntent = "opt_out" | "opt_in";

const OPT_OUT = new Set<string>(OPT_OUT_KEYWORDS);
const OPT_IN = new Set<string>(OPT_IN_KEYWORDS);

// Spaces (of any width), punctuation and symbols (emoji among them) at either end.
const EDGES = /^[\p{Z}\p{P}\p{S}\s]+|[\p{Z}\p{P}\p{S}\s]+$/gu;

/** The reply as it is compared: NFKC (full width to half), its edges trimmed, upper case. */
export function keywordForm(text: string): string {
  return text.normalize("NFKC").replace(EDGES, "").toUpperCase();
}

/** What the reply asks for, when the whole of it is one of the keywords; null otherwise. */
export function keywordIntentOf(text: string): KeywordIntent | null {
  const form = keywordForm(text);
  if (OPT_OUT.has(form)) {
    return "opt_out";
  }
  if (OPT_IN.has(form)) {
    return "opt_in";
  }
  return null;
}
