/** The built-in lexicon (a first few entries; the curated list with its source follows). */
import type { LexiconEntry } from "./lexicon";

export interface DefaultEntry extends LexiconEntry {
  category: string;
}

export const DEFAULT_LEXICON: readonly DefaultEntry[] = [
  { word: "网络赌博", policy: "block", category: "gambling" },
  { word: "代开发票", policy: "block", category: "counterfeit" },
  { word: "傻逼", policy: "mask", category: "profanity" },
];
