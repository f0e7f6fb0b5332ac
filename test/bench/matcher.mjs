/**
 * The sensitive-word matcher against @monyone/aho-corasick (default and fast), modern-ahocorasick
 * and mint-filter: a seeded 10,000-word lexicon (Chinese and English, with nested and overlapping
 * words) over 10 MB (UTF-8) of mixed Chinese and English text, once with case and width variants
 * (folding run) and once with noise inside the words as well (noise run). Every hit count is
 * checked against a brute-force oracle: normalise, then `indexOf` per word at every position.
 * Targets: ours ≥ 100 MB/s folding, ≥ 70 MB/s skipping noise with spans, counts equal to the
 * oracle, automaton built in ≤ 100 ms.
 *
 * Alone: `npx node test/bench/matcher.mjs` prints the section, exits 1 on FAIL.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { format, markdownTable, passFail, ROOT } from "./lib.mjs";
import { loadTs } from "./load-ts.mjs";

const require = createRequire(import.meta.url);

const SEED = 0x5e75;
const LEXICON_SIZE = 10_000;
const TEXT_BYTES = 10 * 1024 * 1024;
const ROUNDS = 5;
const LIBRARY_ROUNDS = 3;
const BUILD_ROUNDS = 5;
const TARGETS = { foldingMBs: 100, noiseMBs: 70, buildMs: 100 };

// ---------------------------------------------------------------------------------------------
// Input

/** mulberry32: a small seeded PRNG, so every run matches the same lexicon over the same text. */
function randomFrom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min, max) => min + Math.floor(next() * (max - min + 1));
  const pick = (list) => list[int(0, list.length - 1)];
  return { next, int, pick };
}

/**
 * Noise inserted by the noise run. Each is noise for our matcher and, for the oracle, is removed
 * by its own rule (Unicode punctuation, symbols, separators, controls, format characters).
 */
const NOISE = [
  "*",
  ".",
  "_",
  "-",
  "|",
  "/",
  "\\",
  "~",
  "·",
  "•",
  "、",
  "，",
  "。",
  " ",
  "\u200b",
  "😀",
  "\u3000",
];
const PUNCTUATION = ["，", "。", "、", ", ", ". ", "! ", "？", "\u3000"];

function cjkPool(random, size) {
  const pool = new Set();
  while (pool.size < size) {
    pool.add(String.fromCharCode(random.int(0x4e00, 0x9fa5)));
  }
  return [...pool];
}

function englishWord(random, min, max) {
  let word = "";
  for (let i = random.int(min, max); i > 0; i--) {
    word += String.fromCharCode(random.int(0x61, 0x7a));
  }
  return word;
}

/**
 * 10,000 distinct lower-case words: 60% Chinese (2–6 characters), 40% English (3–10 letters);
 * a quarter of them made from others, nested (a part of another word, or another word extended)
 * or overlapping (one word's end joined to another's start).
 */
function makeLexicon(random, hanzi) {
  const words = new Set();
  const list = [];
  const add = (word) => {
    if (word.length >= 2 && !words.has(word)) {
      words.add(word);
      list.push(word);
    }
  };
  while (list.length < LEXICON_SIZE) {
    const roll = random.next();
    if (list.length > 100 && roll < 0.25) {
      const a = random.pick(list);
      const b = random.pick(list);
      const how = random.int(0, 2);
      if (how === 0 && a.length >= 3) {
        const start = random.int(0, a.length - 2);
        add(a.slice(start, random.int(start + 2, a.length)));
      } else if (how === 1) {
        add(a + b.slice(0, random.int(1, Math.min(3, b.length))));
      } else {
        add(a.slice(random.int(1, a.length - 1)) + b.slice(0, random.int(1, b.length - 1)));
      }
    } else if (roll < 0.7) {
      let word = "";
      for (let i = random.int(2, 6); i > 0; i--) {
        word += random.pick(hanzi);
      }
      add(word);
    } else {
      add(englishWord(random, 3, 10));
    }
  }
  return list;
}

function utf8Bytes(text) {
  return Buffer.byteLength(text, "utf8");
}

const FULL_WIDTH_OFFSET = 0xfee0;

/** A planted word as written in the folding run: capitals, full width, or as it is. */
function variant(random, word) {
  const roll = random.next();
  if (roll < 0.3) {
    return word.toUpperCase();
  }
  if (roll < 0.5) {
    return word.replace(/[a-z]/g, (c) =>
      String.fromCharCode(c.charCodeAt(0) - (random.next() < 0.5 ? 0x20 : 0) + FULL_WIDTH_OFFSET),
    );
  }
  if (roll < 0.6) {
    return word.replace(/[a-z]/g, (c) => (random.next() < 0.5 ? c.toUpperCase() : c));
  }
  return word;
}

/** The same word with 1–2 noise characters in about half its gaps. */
function withNoise(random, word) {
  const chars = [...word];
  let out = chars[0];
  for (let i = 1; i < chars.length; i++) {
    if (random.next() < 0.5) {
      out += random.pick(NOISE);
      if (random.next() < 0.3) {
        out += random.pick(NOISE);
      }
    }
    out += chars[i];
  }
  return out;
}

/**
 * Two texts of 10 MB from one sequence of segments: Chinese and English filler, punctuation and
 * planted lexicon words (every fifth segment or so). The folding text writes planted words in
 * capitals or full width; the noise text also puts noise inside them and between segments.
 */
function makeTexts(random, hanzi, lexicon) {
  const folding = [];
  const noisy = [];
  let bytes = 0;
  while (bytes < TEXT_BYTES) {
    const roll = random.next();
    let plain;
    let noise;
    if (roll < 0.4) {
      plain = "";
      for (let i = random.int(4, 24); i > 0; i--) {
        plain += random.pick(hanzi);
      }
      noise = plain;
    } else if (roll < 0.72) {
      const words = [];
      for (let i = random.int(1, 6); i > 0; i--) {
        const word = englishWord(random, 2, 9);
        words.push(random.next() < 0.2 ? word[0].toUpperCase() + word.slice(1) : word);
      }
      plain = `${words.join(" ")} `;
      noise = plain;
    } else if (roll < 0.8) {
      plain = random.pick(PUNCTUATION);
      noise = plain;
    } else {
      plain = variant(random, random.pick(lexicon));
      noise = withNoise(random, plain);
    }
    folding.push(plain);
    noisy.push(random.next() < 0.1 ? noise + random.pick(NOISE) : noise);
    bytes += utf8Bytes(plain);
  }
  return { foldingText: folding.join(""), noiseText: noisy.join("") };
}

// ---------------------------------------------------------------------------------------------
// The oracle: written apart from our folding tables, on Unicode's own rules. On this input
// (CJK ideographs, ASCII, full-width ASCII, the ideographic space and the NOISE characters) NFKC
// then lower-casing is exactly our folding, and the removed categories are exactly our noise.
// Our one rule beyond removing noise: a run of it with whitespace between two Latin letters (or
// digits) separates words ("finish it" holds no "shit"); the oracle keeps a space there.

const ORACLE_NOISE = /[\p{P}\p{S}\p{Z}\p{Cc}\p{Cf}]+/gu;
const LATIN = /[a-z0-9]/;

function oracleFold(text) {
  return text.normalize("NFKC").toLowerCase();
}

function oracleStrip(text) {
  return oracleFold(text).replace(ORACLE_NOISE, (run, at, whole) =>
    /\s/.test(run) && LATIN.test(whole[at - 1] ?? "") && LATIN.test(whole[at + run.length] ?? "")
      ? " "
      : "",
  );
}

/** Occurrences per word: every position, overlapping ones included. */
function oracleCounts(words, normalised) {
  const counts = new Map();
  let total = 0;
  for (const word of words) {
    let count = 0;
    for (let at = normalised.indexOf(word); at >= 0; at = normalised.indexOf(word, at + 1)) {
      count++;
    }
    counts.set(word, count);
    total += count;
  }
  return { counts, total };
}

// ---------------------------------------------------------------------------------------------
// Timing

function millis(started) {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Build times: the first (cold) and the median of BUILD_ROUNDS more. */
function timeBuilds(build) {
  let started = process.hrtime.bigint();
  let built = build();
  const first = millis(started);
  const times = [];
  for (let i = 0; i < BUILD_ROUNDS; i++) {
    started = process.hrtime.bigint();
    built = build();
    times.push(millis(started));
  }
  return { built, firstMs: first, medianMs: median(times) };
}

/** MB/s over `text` (the median of `rounds` after a warm-up), and the last run's hit count. */
function timeScans(scan, text, rounds) {
  const megabytes = utf8Bytes(text) / 1e6;
  let hits = scan(text);
  const rates = [];
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint();
    hits = scan(text);
    rates.push(megabytes / (millis(started) / 1e3));
  }
  return { hits, rate: median(rates) };
}

// ---------------------------------------------------------------------------------------------

export async function runMatcherBench({ log = console.log } = {}) {
  const matcher = await loadTs("src/domain/sensitive-words/index.ts");
  const { AhoCorasick: Monyone } = await import("@monyone/aho-corasick");
  const { AhoCorasick: MonyoneFast } = await import("@monyone/aho-corasick/fast");
  const { default: ModernAhoCorasick } = await import("modern-ahocorasick");
  const { Mint } = require("mint-filter");
  const versions = Object.fromEntries(
    ["@monyone/aho-corasick", "modern-ahocorasick", "mint-filter"].map((name) => [
      name,
      JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")).version,
    ]),
  );

  log("matcher: making the lexicon and 10 MB of text…");
  const random = randomFrom(SEED);
  const hanzi = cjkPool(random, 2_500);
  const lexicon = makeLexicon(random, hanzi);
  const { foldingText, noiseText } = makeTexts(random, hanzi, lexicon);
  const failures = [];

  // The oracle's normalisation must be our folding on this input, or the comparison means nothing.
  const foldedText = oracleFold(foldingText);
  if (foldedText !== matcher.foldText(foldingText)) {
    failures.push("the oracle's folding differs from ours on the folding text: fix the input");
  }
  const strippedText = oracleStrip(noiseText);

  log("matcher: the oracle (indexOf per word, both runs)…");
  const oracleFolding = oracleCounts(lexicon, foldedText);
  const oracleNoise = oracleCounts(lexicon, strippedText);

  log("matcher: ours…");
  const entries = lexicon.map((word) => ({ word, policy: "block" }));
  const ours = timeBuilds(() => matcher.compileLexicon(entries));
  const buffer = matcher.newHitBuffer(1 << 20);
  const oursFolding = timeScans(
    (text) => matcher.scanText(ours.built, text, { skipNoise: false }, buffer).count,
    foldingText,
    ROUNDS,
  );
  const foldingPerWord = perWord(buffer, lexicon);
  const oursNoise = timeScans(
    (text) => matcher.scanText(ours.built, text, { skipNoise: true }, buffer).count,
    noiseText,
    ROUNDS,
  );
  const noisePerWord = perWord(buffer, lexicon);
  const spansChecked = checkSpans(buffer, noiseText, lexicon, oracleStrip);
  const oursObjects = timeScans(
    (text) => matcher.findHits(ours.built, text, { skipNoise: true }).length,
    noiseText,
    ROUNDS,
  );

  const libraries = [
    {
      name: `\`@monyone/aho-corasick\` ${versions["@monyone/aho-corasick"]} (default)`,
      build: () => new Monyone(lexicon),
      scan: (built, text) => built.matchInText(text).length,
    },
    {
      name: `\`@monyone/aho-corasick/fast\` ${versions["@monyone/aho-corasick"]}`,
      build: () => new MonyoneFast(lexicon),
      scan: (built, text) => built.matchInText(text).length,
    },
    {
      name: `\`modern-ahocorasick\` ${versions["modern-ahocorasick"]}`,
      build: () => new ModernAhoCorasick(lexicon),
      scan: (built, text) => built.search(text).length,
    },
    {
      name: `\`mint-filter\` ${versions["mint-filter"]}`,
      build: () => new Mint(lexicon),
      scan: (built, text) => built.filter(text, { replace: false }).words.length,
    },
  ];
  const libraryRows = [];
  for (const library of libraries) {
    log(`matcher: ${library.name}…`);
    const built = timeBuilds(library.build);
    const folding = timeScans(
      (text) => library.scan(built.built, text),
      foldedText,
      LIBRARY_ROUNDS,
    );
    const noise = timeScans(
      (text) => library.scan(built.built, text),
      strippedText,
      LIBRARY_ROUNDS,
    );
    libraryRows.push({ name: library.name, built, folding, noise });
  }

  const equalFolding =
    oursFolding.hits === oracleFolding.total && foldingPerWord.equal(oracleFolding.counts);
  const equalNoise = oursNoise.hits === oracleNoise.total && noisePerWord.equal(oracleNoise.counts);
  if (oursFolding.rate < TARGETS.foldingMBs) {
    failures.push(`folding: ${format(oursFolding.rate)} MB/s, target ≥ ${TARGETS.foldingMBs}`);
  }
  if (oursNoise.rate < TARGETS.noiseMBs) {
    failures.push(`skipping noise: ${format(oursNoise.rate)} MB/s, target ≥ ${TARGETS.noiseMBs}`);
  }
  if (ours.firstMs > TARGETS.buildMs) {
    failures.push(`build: ${format(ours.firstMs)} ms (first), target ≤ ${TARGETS.buildMs}`);
  }
  if (!equalFolding) {
    failures.push(
      `folding: ${oursFolding.hits} hits, the oracle ${oracleFolding.total} (${foldingPerWord.differing(oracleFolding.counts)} words differ)`,
    );
  }
  if (!equalNoise) {
    failures.push(
      `skipping noise: ${oursNoise.hits} hits, the oracle ${oracleNoise.total} (${noisePerWord.differing(oracleNoise.counts)} words differ)`,
    );
  }
  if (spansChecked.wrong > 0) {
    failures.push(`skipping noise: ${spansChecked.wrong} of ${spansChecked.checked} spans wrong`);
  }
  const passed = failures.length === 0;

  const yesNo = (hits, oracle) =>
    hits === oracle
      ? "yes"
      : `no (${hits > oracle ? "+" : ""}${format(((hits - oracle) / oracle) * 100, 2)}%)`;
  const chinese = lexicon.filter((word) => /[\u4e00-\u9fa5]/.test(word)).length;
  const rows = [
    [
      "Relaybox, folding (case, width)",
      buildCell(ours),
      format(oursFolding.rate),
      oursFolding.hits.toLocaleString("en-US"),
      yesNo(oursFolding.hits, oracleFolding.total) + (equalFolding ? ", per word too" : ""),
    ],
    [
      "Relaybox, skipping noise, spans in the original",
      "same",
      format(oursNoise.rate),
      oursNoise.hits.toLocaleString("en-US"),
      yesNo(oursNoise.hits, oracleNoise.total) + (equalNoise ? ", per word too" : ""),
    ],
    [
      "Relaybox, skipping noise, `findHits` (hit objects)",
      "same",
      format(oursObjects.rate),
      oursObjects.hits.toLocaleString("en-US"),
      yesNo(oursObjects.hits, oracleNoise.total),
    ],
  ];
  for (const { name, built, folding, noise } of libraryRows) {
    rows.push([
      `${name}, folding text pre-folded`,
      buildCell(built),
      format(folding.rate),
      folding.hits.toLocaleString("en-US"),
      yesNo(folding.hits, oracleFolding.total),
    ]);
    rows.push([
      `${name}, noise text pre-folded and stripped`,
      "same",
      format(noise.rate),
      noise.hits.toLocaleString("en-US"),
      yesNo(noise.hits, oracleNoise.total),
    ]);
  }

  const markdown = [
    "## Sensitive-word matcher",
    "",
    `How: a lexicon of ${LEXICON_SIZE.toLocaleString("en-US")} distinct words made from a fixed ` +
      `seed (${chinese.toLocaleString("en-US")} Chinese of 2–6 characters from a pool of 2,500 ` +
      "ideographs, the rest English of 3–10 letters; a quarter of them nested in or overlapping " +
      "others: a part of a word, a word extended, one word's end joined to another's start). " +
      `Two texts of ${format(utf8Bytes(foldingText) / 1e6, 2)} MB and ` +
      `${format(utf8Bytes(noiseText) / 1e6, 2)} MB (UTF-8) from one sequence of segments: ` +
      "Chinese and English filler, punctuation, and a lexicon word every fifth segment or so. " +
      "In the folding text the planted words are in capitals, full width or mixed; the noise " +
      "text also has 1–2 noise characters (`* . _ - | / \\ ~ · • 、 ， 。`, spaces, U+200B, 😀) " +
      "in about half the gaps of each planted word and between segments. " +
      "The oracle normalises with Unicode's rules, not our tables (NFKC, lower case, and for " +
      "the noise run removing punctuation, symbols, separators, controls and format characters, " +
      "except that a run of noise with whitespace between two Latin letters is kept as one space, " +
      "as our matcher separates words there), then counts every occurrence of every word with " +
      "`indexOf` at every position; the run " +
      "checks that this folding equals ours on the text. Ours is src/domain/sensitive-words " +
      "bundled by esbuild: `scanText` into a reused typed-array hit buffer (every hit with its " +
      "span in the original text), checked word by word against the oracle, and 1,000 noise-run " +
      "spans checked to hold their word. The libraries do not fold or skip noise: they get the " +
      "oracle's normalised texts (lower case, half width; for the noise run, stripped too), so " +
      "their hits carry no original spans. MB/s is megabytes of UTF-8 input per second, the " +
      `median of ${ROUNDS} rounds for ours and ${LIBRARY_ROUNDS} for the libraries, after a ` +
      `warm-up round; build is the first build and the median of ${BUILD_ROUNDS} more, in ` +
      `Node ${process.version}.`,
    "",
    markdownTable(
      ["implementation", "build ms (first / median)", "MB/s", "hits", "equals oracle?"],
      rows,
    ),
    "",
    `Oracle: ${oracleFolding.total.toLocaleString("en-US")} hits in the folding run, ` +
      `${oracleNoise.total.toLocaleString("en-US")} in the noise run (a hit every ` +
      `${format(utf8Bytes(foldingText) / oracleFolding.total, 0)} bytes: the libraries' figures ` +
      "fall with the number of hits, since each makes an object). mint-filter reports only " +
      "the longest word ending at each position, so it misses nested words ending there.",
    "",
    `${passFail(passed)}: folding ${format(oursFolding.rate)} MB/s (target ≥ ${TARGETS.foldingMBs}), ` +
      `skipping noise with spans ${format(oursNoise.rate)} MB/s (target ≥ ${TARGETS.noiseMBs}), ` +
      `built in ${format(ours.firstMs)} ms (target ≤ ${TARGETS.buildMs}), counts equal to the ` +
      `oracle: ${equalFolding && equalNoise ? "yes" : "no"}.`,
  ];
  for (const failure of failures) {
    markdown.push("", `- ${failure}`);
  }
  return { markdown: markdown.join("\n"), passed, failures };
}

function buildCell({ firstMs, medianMs }) {
  return `${format(firstMs)} / ${format(medianMs)}`;
}

/** Our hits per word, from the buffer of the last scan. */
function perWord(buffer, lexicon) {
  const counts = new Int32Array(lexicon.length);
  for (let i = 0; i < buffer.count; i++) {
    counts[buffer.entries[i]]++;
  }
  const differingWords = (oracle) => lexicon.filter((word, i) => counts[i] !== oracle.get(word));
  return {
    equal: (oracle) => differingWords(oracle).length === 0,
    differing: (oracle) => differingWords(oracle).length,
  };
}

/** Each of 1,000 spread hits' spans, stripped of noise, must be its word (no word has a space). */
function checkSpans(buffer, text, lexicon, strip) {
  const step = Math.max(1, Math.floor(buffer.count / 1_000));
  let checked = 0;
  let wrong = 0;
  for (let i = 0; i < buffer.count; i += step) {
    checked++;
    const span = text.slice(buffer.starts[i], buffer.ends[i]);
    if (strip(span) !== lexicon[buffer.entries[i]]) {
      wrong++;
    }
  }
  return { checked, wrong };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { markdown, passed, failures } = await runMatcherBench({
    log: (line) => console.error(line),
  });
  console.log(markdown);
  for (const failure of failures) {
    console.error(`FAIL ${failure}`);
  }
  process.exit(passed ? 0 : 1);
}
