/**
 * Lays a trie out as a double array: the child of state `s` on symbol `x` is the cell
 * `base[s] + x`, and it is one when `check[base[s] + x] === s`. The trie is never built as nodes:
 * over keys in code-unit order, a node is a run of keys sharing its prefix, so its children are
 * the runs sharing one more unit. Nodes are placed breadth first, each where all its children's
 * cells are free (the first fit, found through a union–find of free cells).
 */

export interface TrieLayout {
  base: Int32Array;
  check: Int32Array;
  /** Every state, breadth first: the root (cell 0) first, then by depth. */
  order: Int32Array;
  /** Per state, its depth (the length of its prefix). */
  depth: Int32Array;
  /** Per state, the index in `sorted` of the key ending there, else -1. */
  keyEnding: Int32Array;
  /** The cells in use end before `used`; bases are at most `maxBase`. */
  used: number;
  maxBase: number;
}

interface Cells {
  base: Int32Array;
  check: Int32Array;
  depth: Int32Array;
  keyEnding: Int32Array;
  /** Union–find: following `nextFree` from a cell leads to the first free cell at or after it. */
  nextFree: Int32Array;
}

function newCells(capacity: number): Cells {
  const nextFree = new Int32Array(capacity + 1);
  for (let i = 0; i <= capacity; i++) {
    nextFree[i] = i;
  }
  return {
    base: new Int32Array(capacity),
    check: new Int32Array(capacity).fill(-1),
    depth: new Int32Array(capacity),
    keyEnding: new Int32Array(capacity).fill(-1),
    nextFree,
  };
}

function grown(cells: Cells, size: number): Cells {
  let capacity = cells.check.length * 2;
  while (capacity <= size) {
    capacity *= 2;
  }
  const next = newCells(capacity);
  next.base.set(cells.base);
  next.check.set(cells.check);
  next.depth.set(cells.depth);
  next.keyEnding.set(cells.keyEnding);
  next.nextFree.set(cells.nextFree.subarray(0, cells.check.length));
  return next;
}

/** The first free cell at or after `from` (the union–find's root), compressing the path. */
function firstFree(nextFree: Int32Array, from: number): number {
  let root = from;
  for (let next = nextFree[root] ?? root; next !== root; next = nextFree[root] ?? root) {
    root = next;
  }
  for (let at = from; at !== root; ) {
    const next = nextFree[at] ?? root;
    nextFree[at] = root;
    at = next;
  }
  return root;
}

/**
 * `sorted`: distinct non-empty keys in code-unit order; `symbolOf`: each unit's symbol (1…K).
 */
export function layOutTrie(
  sorted: readonly string[],
  symbolOf: Uint16Array,
  symbolCount: number,
): TrieLayout {
  let totalLength = 0;
  for (const key of sorted) {
    totalLength += key.length;
  }
  let cells = newCells(2 * (totalLength + symbolCount) + 64);
  // The queue, breadth first: per node its state and its run of keys [runStart, runEnd).
  const order = new Int32Array(totalLength + 1);
  const runStart = new Int32Array(totalLength + 1);
  const runEnd = new Int32Array(totalLength + 1);
  runEnd[0] = sorted.length;
  cells.check[0] = 0;
  cells.nextFree[0] = 1;
  let queued = 1;
  let used = 1;
  let maxBase = 0;
  const childSymbols = new Int32Array(symbolCount + 1);
  const childStarts = new Int32Array(symbolCount + 1);

  for (let head = 0; head < queued; head++) {
    const state = order[head] ?? 0;
    let lo = runStart[head] ?? 0;
    const hi = runEnd[head] ?? 0;
    const depth = cells.depth[state] ?? 0;
    if ((sorted[lo]?.length ?? -1) === depth) {
      cells.keyEnding[state] = lo;
      lo++;
    }
    let children = 0;
    let previous = -1;
    let lowest = symbolCount + 1;
    for (let i = lo; i < hi; i++) {
      const unit = sorted[i]?.charCodeAt(depth) ?? 0;
      if (unit !== previous) {
        const symbol = symbolOf[unit] ?? 0;
        childSymbols[children] = symbol;
        childStarts[children] = i;
        children++;
        lowest = Math.min(lowest, symbol);
        previous = unit;
      }
    }
    if (children === 0) {
      continue;
    }

    // The first base where every child's cell is free.
    let base = 0;
    for (let cell = lowest; ; cell++) {
      cell = firstFree(cells.nextFree, cell);
      if (cell + symbolCount >= cells.check.length) {
        cells = grown(cells, cell + symbolCount + 1);
      }
      base = cell - lowest;
      let fits = true;
      for (let c = 0; c < children && fits; c++) {
        fits = cells.check[base + (childSymbols[c] ?? 0)] === -1;
      }
      if (fits) {
        break;
      }
    }
    cells.base[state] = base;
    maxBase = Math.max(maxBase, base);
    for (let c = 0; c < children; c++) {
      const cell = base + (childSymbols[c] ?? 0);
      cells.check[cell] = state;
      cells.depth[cell] = depth + 1;
      cells.nextFree[cell] = cell + 1;
      used = Math.max(used, cell + 1);
      order[queued] = cell;
      runStart[queued] = childStarts[c] ?? 0;
      runEnd[queued] = c + 1 < children ? (childStarts[c + 1] ?? hi) : hi;
      queued++;
    }
  }
  return {
    base: cells.base,
    check: cells.check,
    order: order.subarray(0, queued),
    depth: cells.depth,
    keyEnding: cells.keyEnding,
    used,
    maxBase,
  };
}
