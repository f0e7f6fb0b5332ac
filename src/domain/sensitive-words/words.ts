/** What a tenant's sensitive word may be, and the form it is stored in. */
import { foldText } from "./folding";

export const MAX_WORD_LENGTH = 50;

const CONTROL = /\p{Cc}/u;

export type CheckedWord = { ok: true; word: string } | { ok: false; reason: string };

/**
 * Trims and folds a word (matching ignores case and width, so "QQ" and "ｑｑ" are one word) and
 * checks it: 1–50 characters, no control characters, no unpaired surrogates.
 */
export function checkWord(raw: string): CheckedWord {
  const word = foldText(raw.trim());
  if (word.length === 0) {
    return { ok: false, reason: "must not be empty or only spaces" };
  }
  if (!word.isWellFormed()) {
    return { ok: false, reason: "must be well-formed Unicode (an unpaired surrogate was sent)" };
  }
  if ([...word].length > MAX_WORD_LENGTH) {
    return { ok: false, reason: `must be at most ${MAX_WORD_LENGTH} characters` };
  }
  if (CONTROL.test(word)) {
    return { ok: false, reason: "must not contain control characters (tabs, line breaks…)" };
  }
  return { ok: true, word };
}
