import { describe, expect, it } from "vitest";
import {
  checkWord,
  compileLexicon,
  FOLD,
  findHits,
  foldText,
  isNoise,
  type LexiconEntry,
  maskHits,
  newHitBuffer,
  SPACED,
  scanText,
  type WordPolicy,
} from "../../src/domain/sensitive-words";

function lexicon(...words: (string | [string, WordPolicy])[]) {
  return compileLexicon(
    words.map(
      (word): LexiconEntry =>
        typeof word === "string" ? { word, policy: "block" } : { word: word[0], policy: word[1] },
    ),
  );
}

/** Hits as `word@start-end`, in the order reported. */
function hitsOf(words: ReturnType<typeof lexicon>, text: string, skipNoise = false): string[] {
  return findHits(words, text, { skipNoise }).map((hit) => `${hit.word}@${hit.start}-${hit.end}`);
}

describe("folding", () => {
  it("lower-cases ASCII, Latin, Greek and Cyrillic capitals", () => {
    expect(foldText("VIAGRA Ärger ΣΟΦΊΑ ДЖЯ")).toBe("viagra ärger σοφία джя");
  });

  it("folds full-width ASCII to half-width and the ideographic space to a space", () => {
    expect(foldText("ＶＩＰ　ｑｑ１２３！")).toBe("vip qq123!");
  });

  it("folds circled letters and digits and Cyrillic look-alikes to Latin", () => {
    expect(foldText("ⓥⓘⓟ Ⓠ①")).toBe("vip q1");
    expect(foldText("pаypаl")).toBe("paypal");
  });

  it("keeps every text's length, so offsets in the folded text are offsets in the original", () => {
    const text = "😀ＡＢＣ敏感词　Straße";
    expect(foldText(text)).toHaveLength(text.length);
  });

  it("is idempotent: folding folded text changes nothing", () => {
    for (let unit = 0; unit < 0x10000; unit++) {
      const folded = FOLD[unit] ?? unit;
      expect(FOLD[folded]).toBe(folded);
    }
  });

  it("leaves ideographs and digits alone", () => {
    expect(foldText("发票123")).toBe("发票123");
  });
});

describe("noise", () => {
  it.each([
    ["*", 0x2a],
    [".", 0x2e],
    ["space", 0x20],
    ["full-width comma", 0xff0c],
    ["ideographic full stop", 0x3002],
    ["enumeration comma", 0x3001],
    ["middle dot", 0xb7],
    ["bullet", 0x2022],
    ["zero-width space", 0x200b],
    ["zero-width joiner", 0x200d],
    ["emoji high surrogate", 0xd83d],
    ["low surrogate", 0xde00],
  ])("counts %s as noise", (_, unit) => {
    expect(isNoise(unit)).toBe(true);
  });

  it.each([
    ["a letter", 0x61],
    ["a digit", 0x37],
    ["an ideograph", 0x654f],
    ["a full-width letter", 0xff21],
    ["a circled letter", 0x24d0],
    ["the high surrogate of a CJK extension B ideograph", 0xd840],
  ])("does not count %s as noise", (_, unit) => {
    expect(isNoise(unit)).toBe(false);
  });
});

describe("matching", () => {
  it("finds a word whatever its case and width", () => {
    const words = lexicon("viagra", "代开发票");
    expect(hitsOf(words, "Buy VIAGRA or ＶｉＡｇＲａ now")).toEqual([
      "viagra@4-10",
      "viagra@14-20",
    ]);
  });

  it("finds a lexicon word written in capitals or full width in lower-case text", () => {
    expect(hitsOf(lexicon("ＱＱ群"), "加qq群")).toEqual(["ＱＱ群@1-4"]);
  });

  it("reports every overlapping and nested word", () => {
    expect(hitsOf(lexicon("ab", "abc", "bc"), "abcd")).toEqual(["ab@0-2", "abc@0-3", "bc@1-3"]);
    expect(hitsOf(lexicon("he", "she", "his", "hers"), "ushers")).toEqual([
      "she@1-4",
      "he@2-4",
      "hers@2-6",
    ]);
  });

  it("reports each occurrence of a repeated word, overlapping ones included", () => {
    expect(hitsOf(lexicon("aa"), "aaaa")).toEqual(["aa@0-2", "aa@1-3", "aa@2-4"]);
  });

  it("does not skip noise unless asked", () => {
    expect(hitsOf(lexicon("敏感词"), "敏*感 词")).toEqual([]);
  });

  it("skips noise between a word's characters, spanning the original text", () => {
    const text = "这是敏*感 词。";
    const [hit] = findHits(lexicon("敏感词"), text, { skipNoise: true });
    expect(hit).toMatchObject({ word: "敏感词", start: 2, end: 7 });
    expect(text.slice(hit?.start, hit?.end)).toBe("敏*感 词");
  });

  it.each([
    ["zero-width spaces", "代\u200b开\u200b发\u200b票"],
    ["emoji", "代😀开🔥发票"],
    ["full-width punctuation", "代，开。发、票"],
    ["dots and bullets", "代·开•发.票"],
    ["mixed case and full width with spaces", "代 开 发 票"],
  ])("matches through %s", (_, text) => {
    const [hit] = findHits(lexicon("代开发票"), text, { skipNoise: true });
    expect(hit).toMatchObject({ start: 0, end: text.length });
  });

  it("maps spans back to the original offsets after surrogate pairs", () => {
    const text = "😀𠀀🎉 V-I-A-G-R-A!";
    const hits = findHits(lexicon("viagra"), text, { skipNoise: true });
    expect(hits).toHaveLength(1);
    const [hit] = hits;
    expect(hit).toMatchObject({ start: 7, end: 18 });
    expect(text.slice(hit?.start, hit?.end)).toBe("V-I-A-G-R-A");
  });

  it("does not match across a character that is not noise", () => {
    expect(hitsOf(lexicon("敏感词"), "敏x感词", true)).toEqual([]);
    expect(hitsOf(lexicon("敏感词"), "敏𠀀感词", true)).toEqual([]);
  });

  it("reports nested and overlapping words through noise", () => {
    expect(hitsOf(lexicon("ab", "abc", "bc"), "a-b*c", true)).toEqual([
      "ab@0-3",
      "abc@0-5",
      "bc@2-5",
    ]);
  });

  it("skips noise without whitespace between Latin letters", () => {
    expect(hitsOf(lexicon("fuck"), "F.u*c_k", true)).toEqual(["fuck@0-7"]);
    expect(hitsOf(lexicon("fuck"), "f\u200bu\u200bc\u200bk", true)).toEqual(["fuck@0-7"]);
  });

  it("does not join Latin words that whitespace separates", () => {
    const words = lexicon("shit", "heroin", "cialis");
    expect(hitsOf(words, "Finish it, the hero in it is special, is he?", true)).toEqual([]);
    expect(hitsOf(words, "s h i t", true)).toEqual([]);
  });

  it("skips whitespace between ideographs, and between an ideograph and a Latin letter", () => {
    expect(hitsOf(lexicon("加v信"), "加 V\n信", true)).toEqual(["加v信@0-5"]);
  });

  it("matches a word with inner noise through any noise there, or none between ideographs", () => {
    const words = lexicon("加 微信");
    expect(hitsOf(words, "加微信", true)).toEqual(["加 微信@0-3"]);
    expect(hitsOf(words, "加-微 信", true)).toEqual(["加 微信@0-5"]);
    expect(hitsOf(words, "加 微信")).toEqual(["加 微信@0-4"]);
    expect(hitsOf(words, "加微信")).toEqual([]);
  });

  it("matches a phrase of Latin words wherever whitespace separates them", () => {
    const words = lexicon("free money");
    expect(hitsOf(words, "FREE  money", true)).toEqual(["free money@0-11"]);
    expect(hitsOf(words, "free - money", true)).toEqual(["free money@0-12"]);
    expect(hitsOf(words, "free\nmoney", true)).toEqual(["free money@0-10"]);
    expect(hitsOf(words, "freemoney", true)).toEqual([]);
    expect(hitsOf(words, "free money")).toEqual(["free money@0-10"]);
  });

  it("matches a word that begins or ends with noise literally", () => {
    const words = lexicon("c++", "100%", "😈");
    expect(hitsOf(words, "c++ and 100% 😈", true)).toEqual(["c++@0-3", "100%@8-12", "😈@13-15"]);
    expect(hitsOf(words, "c + + and 100 %", true)).toEqual([]);
  });

  it("keeps the last of two entries with the same folded word", () => {
    const words = lexicon(["QQ", "block"], ["ｑｑ", "review"]);
    expect(findHits(words, "qq")).toMatchObject([{ word: "ｑｑ", policy: "review" }]);
  });

  it("reports the entry's policy and category", () => {
    const words = compileLexicon([{ word: "赌博", policy: "block", category: "gambling" }]);
    expect(findHits(words, "网上赌博")).toEqual([
      {
        word: "赌博",
        policy: "block",
        category: "gambling",
        start: 2,
        end: 4,
        entry: { word: "赌博", policy: "block", category: "gambling" },
      },
    ]);
  });

  it("finds nothing with an empty lexicon", () => {
    const empty = compileLexicon([]);
    expect(findHits(empty, "anything at all 赌博")).toEqual([]);
    expect(findHits(empty, "anything at all 赌博", { skipNoise: true })).toEqual([]);
  });

  it("finds nothing in an empty text", () => {
    expect(findHits(lexicon("a"), "")).toEqual([]);
  });

  it("refuses an empty word", () => {
    expect(() => lexicon("")).toThrow(RangeError);
  });

  it("reuses a hit buffer from one text to the next", () => {
    const words = lexicon("ab");
    const buffer = newHitBuffer(1);
    expect(scanText(words, "ab ab ab", {}, buffer).count).toBe(3);
    expect(scanText(words, "ab", {}, buffer).count).toBe(1);
    expect(Array.from(buffer.starts.subarray(0, 1))).toEqual([0]);
  });

  it("agrees with a brute-force search on random lexicons and texts, in both modes", () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const alphabet = "abcAＢé敏感词*- \u3000.";
    const pick = (length: number) =>
      Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
    let compared = 0;
    for (let trial = 0; trial < 300; trial++) {
      const words = [
        ...new Set(Array.from({ length: 12 }, () => pick(1 + Math.floor(random() * 4)))),
      ].filter((word) => word.trim().length > 0);
      const text = pick(40);
      const compiled = lexicon(...words);
      for (const skipNoise of [false, true]) {
        const expected = compiled.entries.flatMap(({ word }) => bruteForce(word, text, skipNoise));
        compared += expected.length;
        expect(hitsOf(compiled, text, skipNoise).sort()).toEqual(expected.sort());
      }
    }
    expect(compared).toBeGreaterThan(1_000);
  });
});

/**
 * Every hit of `word` in `text`, found the slow way: fold both; when skipping noise (and the word
 * neither begins nor ends with noise), rewrite both as their units without noise, a run of noise
 * with whitespace between two spaced letters becoming one separator; then `indexOf` at every
 * position, mapping positions back.
 */
function bruteForce(word: string, text: string, skipNoise: boolean): string[] {
  const key = foldText(word);
  const folded = foldText(text);
  const edgeNoise = isNoise(key.charCodeAt(0)) || isNoise(key.charCodeAt(key.length - 1));
  const hits: string[] = [];
  if (!skipNoise || edgeNoise) {
    for (let at = folded.indexOf(key); at >= 0; at = folded.indexOf(key, at + 1)) {
      hits.push(`${word}@${at}-${at + key.length}`);
    }
    return hits;
  }
  const stream = (units: string) => {
    let out = "";
    const offsets: number[] = [];
    for (let i = 0; i < units.length; ) {
      if (!isNoise(units.charCodeAt(i))) {
        out += units.charAt(i);
        offsets.push(i);
        i++;
        continue;
      }
      let end = i;
      while (end < units.length && isNoise(units.charCodeAt(end))) {
        end++;
      }
      const run = units.slice(i, end);
      const spacedBefore = SPACED[units.charCodeAt(i - 1)] === 1;
      const spacedAfter = SPACED[units.charCodeAt(end)] === 1;
      if (/\s/.test(run) && spacedBefore && spacedAfter) {
        out += "\u0000";
        offsets.push(-1);
      }
      i = end;
    }
    return { out, offsets };
  };
  const wanted = stream(key).out;
  const { out, offsets } = stream(folded);
  for (let at = out.indexOf(wanted); at >= 0; at = out.indexOf(wanted, at + 1)) {
    const end = (offsets[at + wanted.length - 1] ?? 0) + 1;
    hits.push(`${word}@${offsets[at]}-${end}`);
  }
  return hits;
}

describe("masking", () => {
  it("stars every character of each span, noise inside it included", () => {
    expect(maskHits("你个傻*逼啊", [{ start: 2, end: 5 }])).toBe("你个***啊");
  });

  it("stars a surrogate pair as one character", () => {
    expect(maskHits("a😈b", [{ start: 1, end: 3 }])).toBe("a*b");
  });

  it("stars overlapping spans once", () => {
    expect(
      maskHits("abcdef", [
        { start: 1, end: 4 },
        { start: 2, end: 5 },
      ]),
    ).toBe("a****f");
  });

  it("returns the text unchanged without hits", () => {
    expect(maskHits("hello", [])).toBe("hello");
  });
});

describe("tenant words", () => {
  it("are trimmed and folded", () => {
    expect(checkWord("  ＱＱ群 ")).toEqual({ ok: true, word: "qq群" });
  });

  it.each([
    ["empty", "", /empty/],
    ["only spaces", "   ", /empty/],
    ["over 50 characters", "字".repeat(51), /at most 50/],
    ["with a control character", "a\tb", /control/],
    ["with an unpaired surrogate", "a\ud800b", /well-formed/],
  ])("are refused when %s", (_, word, reason) => {
    const checked = checkWord(word);
    expect(checked.ok).toBe(false);
    expect(checked.ok ? "" : checked.reason).toMatch(reason);
  });

  it("may be 50 characters, counting a surrogate pair as one", () => {
    expect(checkWord("😀".repeat(50)).ok).toBe(true);
  });
});
