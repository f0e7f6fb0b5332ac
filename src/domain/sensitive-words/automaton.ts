/**
 * An Aho–Corasick automaton over folded UTF-16 code units, in flat typed arrays.
 *
 * Code units are first mapped to dense symbols (1…K) through a 65,536-entry table that folds
 * them at the same time; a unit in no key is symbol 0 and sends the automaton back to the root.
 * The trie is a double array (double-array.ts): the child of state `s` on symbol `x` is the cell
 * `base[s] + x` when `check[base[s] + x] === s`. The root's transitions are dense (`rootNext`), so a failure
 * chain always ends there in one lookup. `report[s]` is the first state with keys on `s`'s suffix
 * chain (itself when a key ends at `s`), and `dictNext` links those states, so each hit costs
 * one step and a state without hits costs one load.
 *
 * In automata built to skip noise, a symbol's top bits say more about its unit: noise, and
 * whitespace noise (NOISE_FLAG, WHITESPACE_FLAG), or a letter or digit of a spaced script
 * (SPACED_FLAG). Keys may then hold SEPARATOR, matched by a run of noise with whitespace between
 * two such letters (see folding.ts). Symbols have 14 bits: a lexicon may use at most 16,383
 * distinct characters (once folded), far more than a lexicon of words in one or two scripts does.
 */
import { layOutTrie } from "./double-array";
import {
  FOLDED_FROM_START,
  FOLDED_FROM_UNITS,
  NOISE,
  NOT_NOISE,
  SPACED,
  WHITESPACE_NOISE,
} from "./folding";

export const NOISE_FLAG = 0x8000;
export const WHITESPACE_FLAG = 0x4000;
export const SPACED_FLAG = 0x4000;
export const SYMBOL_MASK = 0x3fff;
const MAX_SYMBOLS = SYMBOL_MASK;

/** In a key, the separator between two words of a spaced script (U+0000 is noise, never a key unit). */
export const SEPARATOR = "\u0000";
const SEPARATOR_UNIT = 0;

/** The symbol table of an automaton that skips noise, before its keys' symbols are set. */
const NOISE_SYMBOLS = new Uint16Array(0x10000);
for (let unit = 0; unit < NOISE_SYMBOLS.length; unit++) {
  if (NOISE[unit] !== NOT_NOISE) {
    NOISE_SYMBOLS[unit] =
      NOISE[unit] === WHITESPACE_NOISE ? NOISE_FLAG | WHITESPACE_FLAG : NOISE_FLAG;
  } else if (SPACED[unit] === 1) {
    NOISE_SYMBOLS[unit] = SPACED_FLAG;
  }
}

export interface AutomatonKey {
  /** Folded; several keys may be equal (each is then reported). */
  key: string;
  /** What a hit reports: an index into the caller's entries. */
  entry: number;
}

export interface Automaton {
  symbols: Uint16Array;
  base: Int32Array;
  check: Int32Array;
  fail: Int32Array;
  rootNext: Int32Array;
  report: Int32Array;
  dictNext: Int32Array;
  depth: Int32Array;
  /** Terminal state → the first entry whose key ends there, else -1. */
  firstEntry: Int32Array;
  /** Entry → the next entry with the same key, else -1. */
  nextEntry: Int32Array;
  /** The longest key, in code units. */
  maxDepth: number;
  /** SEPARATOR's symbol, or 0 when no key holds one. */
  separator: number;
}

/** Hits as parallel typed arrays: entry, start and end (UTF-16 offsets in the original text). */
export interface HitBuffer {
  count: number;
  entries: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
}

export function newHitBuffer(capacity = 64): HitBuffer {
  return {
    count: 0,
    entries: new Int32Array(capacity),
    starts: new Int32Array(capacity),
    ends: new Int32Array(capacity),
  };
}

/**
 * Builds the automaton. With `skipNoise`, no key may contain a noise unit: noise units get
 * NOISE_FLAG so a scan can skip them.
 */
export function buildAutomaton(keys: readonly AutomatonKey[], skipNoise: boolean): Automaton {
  // Each unit of the keys (folded) gets a symbol, and so does every unit that folds to it.
  const symbols = skipNoise ? NOISE_SYMBOLS.slice() : new Uint16Array(0x10000);
  const symbolOf = new Uint16Array(0x10000);
  let symbolCount = 0;
  let maxEntry = -1;
  for (const { key, entry } of keys) {
    maxEntry = Math.max(maxEntry, entry);
    for (let i = 0; i < key.length; i++) {
      const unit = key.charCodeAt(i);
      if (symbolOf[unit] !== 0) {
        continue;
      }
      symbolCount++;
      if (symbolCount > MAX_SYMBOLS) {
        throw new RangeError(`A lexicon may use at most ${MAX_SYMBOLS} distinct characters.`);
      }
      symbolOf[unit] = symbolCount;
      if (unit === SEPARATOR_UNIT && skipNoise) {
        continue;
      }
      symbols[unit] = (symbols[unit] ?? 0) | symbolCount;
      const last = FOLDED_FROM_START[unit + 1] ?? 0;
      for (let from = FOLDED_FROM_START[unit] ?? 0; from < last; from++) {
        const source = FOLDED_FROM_UNITS[from] ?? 0;
        symbols[source] = (symbols[source] ?? 0) | symbolCount;
      }
    }
  }
  // Per distinct key, the last entry given for it; earlier ones are chained behind it.
  const lastEntryOf = new Map<string, number>();
  const nextEntry = new Int32Array(maxEntry + 1).fill(-1);
  for (const { key, entry } of keys) {
    nextEntry[entry] = lastEntryOf.get(key) ?? -1;
    lastEntryOf.set(key, entry);
  }
  // Distinct keys in code-unit order (the default sort): a trie node is a run of keys sharing
  // its prefix, the key ending there (if any) first.
  const sorted = [...lastEntryOf.keys()].sort();
  const trie = layOutTrie(sorted, symbolOf, symbolCount);
  // Every lookup `base[s] + x` must stay inside the arrays: pad by the largest symbol.
  const length = Math.max(trie.used, trie.maxBase + symbolCount + 1);
  const base = trie.base.slice(0, length);
  const check = trie.check.slice(0, length);
  const depth = trie.depth.slice(0, length);
  const fail = new Int32Array(length);
  const report = new Int32Array(length);
  const dictNext = new Int32Array(length);
  const firstEntry = new Int32Array(length).fill(-1);
  const rootNext = new Int32Array(symbolCount + 1);
  const rootBase = base[0] ?? 0;
  for (let symbol = 1; symbol <= symbolCount; symbol++) {
    const cell = rootBase + symbol;
    rootNext[symbol] = check[cell] === 0 ? cell : 0;
  }

  // Breadth first, so a state's failure (shallower) is final before the state is reached.
  let maxDepth = 0;
  const { order, keyEnding } = trie;
  for (let at = 1; at < order.length; at++) {
    const state = order[at] ?? 0;
    const parent = check[state] ?? 0;
    let target = 0;
    if (parent !== 0) {
      const symbol = state - (base[parent] ?? 0);
      for (let suffix = fail[parent] ?? 0; ; suffix = fail[suffix] ?? 0) {
        if (suffix === 0) {
          target = rootNext[symbol] ?? 0;
          break;
        }
        const cell = (base[suffix] ?? 0) + symbol;
        if (check[cell] === suffix) {
          target = cell;
          break;
        }
      }
    }
    fail[state] = target;
    const key = keyEnding[state] ?? -1;
    if (key >= 0) {
      firstEntry[state] = lastEntryOf.get(sorted[key] ?? "") ?? -1;
      report[state] = state;
      dictNext[state] = report[target] ?? 0;
    } else {
      report[state] = report[target] ?? 0;
    }
    maxDepth = Math.max(maxDepth, depth[state] ?? 0);
  }
  return {
    symbols,
    base,
    check,
    fail,
    rootNext,
    report,
    dictNext,
    depth,
    firstEntry,
    nextEntry,
    maxDepth,
    separator: skipNoise ? (symbolOf[SEPARATOR_UNIT] ?? 0) : 0,
  };
}
