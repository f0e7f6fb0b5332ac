/**
 * An Aho–Corasick automaton over folded UTF-16 code units, in flat typed arrays.
 *
 * Code units are first mapped to dense symbols (1…K) through a 65,536-entry table that folds
 * them at the same time; a unit in no key is symbol 0 and sends the automaton back to the root.
 * The trie is a double array: the child of state `s` on symbol `x` is the cell `base[s] + x`
 * when `check[base[s] + x] === s`. The root's transitions are dense (`rootNext`), so a failure
 * chain always ends there in one lookup. `report[s]` is the first state with keys on `s`'s suffix
 * chain (itself when a key ends at `s`), and `dictNext` links those states, so each hit costs
 * one step and a state without hits costs one load.
 */
import { FOLD, NOISE } from "./folding";

/** Set in a symbol for a noise unit, in automata built to skip noise. */
export const NOISE_FLAG = 0x8000;
const SYMBOL_MASK = 0x7fff;
const MAX_SYMBOLS = SYMBOL_MASK;

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

/** Int32Array cells of the double array under construction, grown on demand. */
class Cells {
  base: Int32Array;
  check: Int32Array;
  /** Union–find over cells: `free(i)` is the first free cell at or after `i`. */
  private nextFree: Int32Array;

  constructor(capacity: number) {
    this.base = new Int32Array(capacity);
    this.check = new Int32Array(capacity).fill(-1);
    this.nextFree = new Int32Array(capacity + 1);
    for (let i = 0; i <= capacity; i++) {
      this.nextFree[i] = i;
    }
  }

  free(from: number): number {
    this.ensure(from + 1);
    let root = from;
    while (this.nextFree[root] !== root) {
      root = this.nextFree[root] ?? root;
      this.ensure(root + 1);
    }
    let at = from;
    while (at !== root) {
      const next = this.nextFree[at] ?? root;
      this.nextFree[at] = root;
      at = next;
    }
    return root;
  }

  isFree(cell: number): boolean {
    this.ensure(cell + 1);
    return this.check[cell] === -1;
  }

  take(cell: number, parent: number): void {
    this.ensure(cell + 1);
    this.check[cell] = parent;
    this.nextFree[cell] = cell + 1;
  }

  ensure(size: number): void {
    if (size < this.check.length) {
      return;
    }
    let capacity = this.check.length * 2;
    while (capacity <= size) {
      capacity *= 2;
    }
    const base = new Int32Array(capacity);
    const check = new Int32Array(capacity).fill(-1);
    const nextFree = new Int32Array(capacity + 1);
    base.set(this.base);
    check.set(this.check);
    nextFree.set(this.nextFree);
    for (let i = this.nextFree.length; i <= capacity; i++) {
      nextFree[i] = i;
    }
    this.base = base;
    this.check = check;
    this.nextFree = nextFree;
  }
}

/** Finds a base where every one of `symbols` (at least one) lands on a free cell. */
function placeChildren(cells: Cells, symbols: readonly number[]): number {
  let lowest = MAX_SYMBOLS;
  for (const symbol of symbols) {
    lowest = Math.min(lowest, symbol);
  }
  for (let cell = cells.free(lowest); ; cell = cells.free(cell + 1)) {
    const base = cell - lowest;
    if (symbols.every((symbol) => cells.isFree(base + symbol))) {
      return base;
    }
  }
}

/**
 * Builds the automaton. With `skipNoise`, no key may contain a noise unit: noise units get
 * NOISE_FLAG so a scan can skip them.
 */
export function buildAutomaton(keys: readonly AutomatonKey[], skipNoise: boolean): Automaton {
  const symbolOf = new Int32Array(0x10000);
  let symbolCount = 0;
  let totalLength = 0;
  for (const { key } of keys) {
    totalLength += key.length;
    for (let i = 0; i < key.length; i++) {
      const unit = key.charCodeAt(i);
      if (symbolOf[unit] === 0) {
        symbolCount++;
        if (symbolCount > MAX_SYMBOLS) {
          throw new RangeError(`A lexicon may use at most ${MAX_SYMBOLS} distinct characters.`);
        }
        symbolOf[unit] = symbolCount;
      }
    }
  }
  const symbols = new Uint16Array(0x10000);
  for (let unit = 0; unit < symbols.length; unit++) {
    const noise = skipNoise && NOISE[unit] === 1;
    symbols[unit] = noise ? NOISE_FLAG : (symbolOf[FOLD[unit] ?? unit] ?? 0);
  }

  // Distinct keys in code-unit order: each trie node is a run of keys sharing its prefix.
  const order = keys.map((_, index) => index).sort((a, b) => compareKeys(keys, a, b));
  let maxEntry = -1;
  for (const { entry } of keys) {
    maxEntry = Math.max(maxEntry, entry);
  }
  const nextEntry = new Int32Array(maxEntry + 1).fill(-1);
  const distinct: string[] = [];
  const chainOf: number[] = [];
  for (const index of order) {
    const { key, entry } = keys[index] ?? { key: "", entry: 0 };
    const last = chainOf.length - 1;
    if (last >= 0 && distinct[last] === key) {
      // The same key again: the entry joins the chain of those reported with it.
      nextEntry[entry] = chainOf[last] ?? -1;
      chainOf[last] = entry;
    } else {
      distinct.push(key);
      chainOf.push(entry);
    }
  }

  const stateCapacity = totalLength + symbolCount + 2;
  const cells = new Cells(Math.max(64, stateCapacity * 2));
  const depthOfCell = new Int32Array(cells.check.length);
  // The BFS queue: per node its state, its first and past-last key, and its depth.
  const queueState: number[] = [0];
  const queueLo: number[] = [0];
  const queueHi: number[] = [distinct.length];
  cells.take(0, 0);
  // Per state: fail, report, dictNext, firstEntry, depth (grown with the cells).
  let fail: Int32Array = new Int32Array(cells.check.length);
  let report: Int32Array = new Int32Array(cells.check.length);
  let dictNext: Int32Array = new Int32Array(cells.check.length);
  let firstEntry: Int32Array = new Int32Array(cells.check.length).fill(-1);
  let depth: Int32Array = depthOfCell;
  let maxDepth = 0;
  const childSymbols: number[] = [];
  const childLo: number[] = [];
  const childHi: number[] = [];

  for (let head = 0; head < queueState.length; head++) {
    const state = queueState[head] ?? 0;
    let lo = queueLo[head] ?? 0;
    const hi = queueHi[head] ?? 0;
    const d = depth[state] ?? 0;
    maxDepth = Math.max(maxDepth, d);

    if (state !== 0) {
      const parent = cells.check[state] ?? 0;
      const symbol = state - (cells.base[parent] ?? 0);
      let target = 0;
      if (parent !== 0) {
        let suffix = fail[parent] ?? 0;
        for (;;) {
          const cell = (cells.base[suffix] ?? 0) + symbol;
          if (cells.check[cell] === suffix && cell !== 0) {
            target = cell;
            break;
          }
          if (suffix === 0) {
            break;
          }
          suffix = fail[suffix] ?? 0;
        }
      }
      fail[state] = target;
      if ((distinct[lo]?.length ?? -1) === d) {
        firstEntry[state] = chainOf[lo] ?? -1;
        report[state] = state;
        dictNext[state] = report[target] ?? 0;
      } else {
        report[state] = report[target] ?? 0;
      }
    }
    if ((distinct[lo]?.length ?? -1) === d) {
      lo++;
    }

    childSymbols.length = 0;
    childLo.length = 0;
    childHi.length = 0;
    for (let i = lo; i < hi; ) {
      const unit = distinct[i]?.charCodeAt(d) ?? 0;
      let j = i + 1;
      while (j < hi && distinct[j]?.charCodeAt(d) === unit) {
        j++;
      }
      childSymbols.push(symbolOf[unit] ?? 0);
      childLo.push(i);
      childHi.push(j);
      i = j;
    }
    if (childSymbols.length === 0) {
      continue;
    }
    const base = placeChildren(cells, childSymbols);
    cells.base[state] = base;
    for (let c = 0; c < childSymbols.length; c++) {
      const cell = base + (childSymbols[c] ?? 0);
      cells.take(cell, state);
      queueState.push(cell);
      queueLo.push(childLo[c] ?? 0);
      queueHi.push(childHi[c] ?? 0);
    }
    if (depth.length < cells.check.length) {
      fail = grown(fail, cells.check.length, 0);
      report = grown(report, cells.check.length, 0);
      dictNext = grown(dictNext, cells.check.length, 0);
      firstEntry = grown(firstEntry, cells.check.length, -1);
      depth = grown(depth, cells.check.length, 0);
    }
    for (let c = 0; c < childSymbols.length; c++) {
      depth[base + (childSymbols[c] ?? 0)] = d + 1;
    }
  }

  // Every lookup `base[s] + x` must stay inside the arrays: pad by the largest symbol.
  let size = 0;
  for (let cell = cells.check.length - 1; cell >= 0; cell--) {
    if (cells.check[cell] !== -1) {
      size = cell + 1;
      break;
    }
  }
  let maxBase = 0;
  for (let cell = 0; cell < size; cell++) {
    maxBase = Math.max(maxBase, cells.base[cell] ?? 0);
  }
  const length = Math.max(size, maxBase + symbolCount + 1);
  const rootNext = new Int32Array(symbolCount + 1);
  const rootBase = cells.base[0] ?? 0;
  for (let symbol = 1; symbol <= symbolCount; symbol++) {
    const cell = rootBase + symbol;
    rootNext[symbol] = cells.check[cell] === 0 && cell !== 0 ? cell : 0;
  }
  return {
    symbols,
    base: fitted(cells.base, length, 0),
    check: fitted(cells.check, length, -1),
    fail: fitted(fail, length, 0),
    rootNext,
    report: fitted(report, length, 0),
    dictNext: fitted(dictNext, length, 0),
    depth: fitted(depth, length, 0),
    firstEntry: fitted(firstEntry, length, -1),
    nextEntry,
    maxDepth,
  };
}

function compareKeys(keys: readonly AutomatonKey[], a: number, b: number): number {
  const x = keys[a]?.key ?? "";
  const y = keys[b]?.key ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}

function grown(array: Int32Array, length: number, fill: number): Int32Array {
  const out = new Int32Array(length);
  if (fill !== 0) {
    out.fill(fill);
  }
  out.set(array.subarray(0, Math.min(array.length, length)));
  return out;
}

function fitted(array: Int32Array, length: number, fill: number): Int32Array {
  return array.length === length ? array : grown(array, length, fill);
}
