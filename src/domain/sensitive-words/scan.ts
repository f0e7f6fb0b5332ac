/**
 * The two scanning loops over an automaton: folded (every unit counts) and noise-skipping.
 * Both report every occurrence of every key, overlapping and nested ones included, in order of
 * their end, longer keys first among those ending together. The loops read only typed arrays and
 * the text, and write hits into a HitBuffer: nothing is allocated per character.
 */
import { type Automaton, type HitBuffer, NOISE_FLAG, SPACED_FLAG, SYMBOL_MASK } from "./automaton";

/** Noise units break matches. Entries marked in `excluded` are not reported. */
export function scanFolded(
  automaton: Automaton,
  text: string,
  hits: HitBuffer,
  excluded: Uint8Array | null,
): void {
  const { symbols, base, check, fail, rootNext, report, dictNext, depth } = automaton;
  const { firstEntry, nextEntry } = automaton;
  let { entries, starts, ends, count } = hits;
  let state = 0;
  for (let i = 0; i < text.length; i++) {
    const symbol = (symbols[text.charCodeAt(i)] ?? 0) & SYMBOL_MASK;
    if (symbol === 0) {
      state = 0;
      continue;
    }
    let next = 0;
    while (state !== 0) {
      const cell = (base[state] ?? 0) + symbol;
      if (check[cell] === state) {
        next = cell;
        break;
      }
      state = fail[state] ?? 0;
    }
    state = state === 0 ? (rootNext[symbol] ?? 0) : next;
    let out = report[state] ?? 0;
    while (out !== 0) {
      const start = i + 1 - (depth[out] ?? 0);
      for (let entry = firstEntry[out] ?? -1; entry >= 0; entry = nextEntry[entry] ?? -1) {
        if (excluded !== null && excluded[entry] === 1) {
          continue;
        }
        if (count === entries.length) {
          hits.count = count;
          growInPlace(hits);
          ({ entries, starts, ends } = hits);
        }
        entries[count] = entry;
        starts[count] = start;
        ends[count] = i + 1;
        count++;
      }
      out = dictNext[out] ?? 0;
    }
  }
  hits.count = count;
}

/**
 * Noise units are skipped, so a key matches with any noise between its units, except that a run
 * of noise with whitespace between two letters of a spaced script is the key's SEPARATOR (or
 * breaks the match). A hit's span runs from its first unit to its last in the original text: the
 * offsets of the last `maxDepth` matched units are kept in a ring.
 */
export function scanSkippingNoise(automaton: Automaton, text: string, hits: HitBuffer): void {
  const { symbols, base, check, fail, rootNext, report, dictNext, depth } = automaton;
  const { firstEntry, nextEntry, separator } = automaton;
  let { entries, starts, ends, count } = hits;
  let ringSize = 1;
  while (ringSize < automaton.maxDepth) {
    ringSize *= 2;
  }
  const ring = new Int32Array(ringSize);
  const ringMask = ringSize - 1;
  let matched = 0;
  let state = 0;
  let afterSpaced = 0;
  let sawWhitespace = false;
  for (let i = 0; i < text.length; i++) {
    const raw = symbols[text.charCodeAt(i)] ?? 0;
    if (raw >= NOISE_FLAG) {
      sawWhitespace ||= raw !== NOISE_FLAG;
      continue;
    }
    const spaced = raw & SPACED_FLAG;
    if (sawWhitespace) {
      sawWhitespace = false;
      if (spaced !== 0 && afterSpaced !== 0) {
        // Two words apart: the separator, which no key begins or ends with.
        let next = 0;
        while (state !== 0) {
          const cell = (base[state] ?? 0) + separator;
          if (separator !== 0 && check[cell] === state) {
            next = cell;
            break;
          }
          state = fail[state] ?? 0;
        }
        state = next;
        ring[matched & ringMask] = i;
        matched++;
      }
    }
    afterSpaced = spaced;
    const symbol = raw & SYMBOL_MASK;
    if (symbol === 0) {
      state = 0;
      continue;
    }
    ring[matched & ringMask] = i;
    matched++;
    let next = 0;
    while (state !== 0) {
      const cell = (base[state] ?? 0) + symbol;
      if (check[cell] === state) {
        next = cell;
        break;
      }
      state = fail[state] ?? 0;
    }
    state = state === 0 ? (rootNext[symbol] ?? 0) : next;
    let out = report[state] ?? 0;
    while (out !== 0) {
      const start = ring[(matched - (depth[out] ?? 0)) & ringMask] ?? 0;
      for (let entry = firstEntry[out] ?? -1; entry >= 0; entry = nextEntry[entry] ?? -1) {
        if (count === entries.length) {
          hits.count = count;
          growInPlace(hits);
          ({ entries, starts, ends } = hits);
        }
        entries[count] = entry;
        starts[count] = start;
        ends[count] = i + 1;
        count++;
      }
      out = dictNext[out] ?? 0;
    }
  }
  hits.count = count;
}

function growInPlace(hits: HitBuffer): void {
  const capacity = Math.max(64, hits.entries.length * 2);
  const entries = new Int32Array(capacity);
  const starts = new Int32Array(capacity);
  const ends = new Int32Array(capacity);
  entries.set(hits.entries);
  starts.set(hits.starts);
  ends.set(hits.ends);
  hits.entries = entries;
  hits.starts = starts;
  hits.ends = ends;
}
