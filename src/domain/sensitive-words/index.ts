/** Sensitive-word matching: folding, the compiled lexicon, hits and masking, the default lexicon. */
export type { HitBuffer } from "./automaton";
export { newHitBuffer } from "./automaton";
export { DEFAULT_LEXICON, type DefaultEntry } from "./default-lexicon";
export { FOLD, foldText, isNoise, NOISE, SPACED } from "./folding";
export {
  compileLexicon,
  findHits,
  type Hit,
  type Lexicon,
  type LexiconEntry,
  maskHits,
  type ScanOptions,
  scanText,
  WORD_POLICIES,
  type WordPolicy,
} from "./lexicon";
export { type CheckedWord, checkWord, MAX_WORD_LENGTH } from "./words";
