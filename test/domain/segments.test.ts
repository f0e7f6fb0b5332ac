import { describe, expect, it } from "vitest";
import { BASIC_TABLE, EXTENSION_TABLE } from "../../src/domain/gsm7";
import { segmentsOf } from "../../src/domain/segments";

const latin = (count: number) => "a".repeat(count);
const chinese = (count: number) => "中".repeat(count);
const family = "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}"; // 👨‍👩‍👧‍👦, 11 units
const england = "\u{1f3f4}\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}"; // 🏴󠁧󠁢󠁥󠁮󠁧󠁿, 14 units

describe("segmentsOf with GSM-7 text", () => {
  it("counts an empty text as no segment", () => {
    // Twilio's calculator says 1; an empty body is refused before it is counted, and would send
    // nothing.
    expect(segmentsOf("")).toEqual({
      encoding: "GSM-7",
      characters: 0,
      units: 0,
      segments: 0,
      perSegment: 160,
    });
  });

  it("fits 160 septets in one segment of 160", () => {
    expect(segmentsOf(latin(160))).toEqual({
      encoding: "GSM-7",
      characters: 160,
      units: 160,
      segments: 1,
      perSegment: 160,
    });
  });

  it("needs two segments of 153 septets for 161", () => {
    expect(segmentsOf(latin(161))).toEqual({
      encoding: "GSM-7",
      characters: 161,
      units: 161,
      segments: 2,
      perSegment: 153,
    });
  });

  it.each([
    [306, 2],
    [307, 3],
    [459, 3],
    [460, 4],
    [612, 4],
    [613, 5],
    [765, 5],
    [766, 6],
  ])("puts %i septets of basic characters in %i segments of 153", (septets, segments) => {
    expect(segmentsOf(latin(septets))).toMatchObject({ units: septets, segments, perSegment: 153 });
  });

  it.each([...EXTENSION_TABLE])(
    "counts the extension character %j as ESC plus its code, two septets",
    (char) => {
      expect(segmentsOf(char)).toMatchObject({
        encoding: "GSM-7",
        characters: 1,
        units: 2,
        segments: 1,
      });
    },
  );

  it("counts every character of the basic table as one septet", () => {
    const basic = [...BASIC_TABLE].filter((char) => char !== "\u001b");
    expect(basic).toHaveLength(127);
    for (const char of basic) {
      expect(segmentsOf(char), JSON.stringify(char)).toMatchObject({ encoding: "GSM-7", units: 1 });
    }
    expect(segmentsOf(basic.join(""))).toMatchObject({
      encoding: "GSM-7",
      units: 127,
      segments: 1,
    });
  });

  it("keeps accented and Greek letters of the basic table in GSM-7", () => {
    expect(segmentsOf("Café Öl Δ Straße Ç")).toMatchObject({
      encoding: "GSM-7",
      characters: 18,
      units: 18,
    });
  });

  it("fits 158 septets and an extension character in one segment", () => {
    expect(segmentsOf(`${latin(158)}€`)).toMatchObject({ units: 160, segments: 1 });
  });

  it("lets an extension character push 159 septets past the single-segment limit", () => {
    expect(segmentsOf(`${latin(159)}€`)).toMatchObject({ units: 161, segments: 2 });
  });

  it("keeps an escape pair that ends exactly on septet 153 in the first segment", () => {
    expect(segmentsOf(`${latin(151)}€${latin(153)}`)).toMatchObject({ units: 306, segments: 2 });
  });

  it("moves an escape pair that would straddle septets 153 and 154 to the next segment", () => {
    // 306 septets would fill two segments exactly, but ESC cannot end a part without its code.
    expect(segmentsOf(`${latin(152)}€${latin(152)}`)).toMatchObject({ units: 306, segments: 3 });
  });

  it("moves an escape pair that would straddle septets 306 and 307 to the next segment", () => {
    expect(segmentsOf(`${latin(304)}[${latin(153)}`)).toMatchObject({ units: 459, segments: 3 });
    expect(segmentsOf(`${latin(305)}[${latin(152)}`)).toMatchObject({ units: 459, segments: 4 });
  });

  it("moves only the extension character that straddles the boundary, not the one before it", () => {
    // "{" takes septets 151-152 and stays; "}" would take 153-154 and starts the second part.
    expect(segmentsOf(`${latin(150)}{}${latin(151)}`)).toMatchObject({ units: 305, segments: 2 });
    expect(segmentsOf(`${latin(150)}{}${latin(152)}`)).toMatchObject({ units: 306, segments: 3 });
    expect(segmentsOf(`${latin(149)}{}${latin(153)}`)).toMatchObject({ units: 306, segments: 2 });
  });

  it("does not move an extension character when the message fits in one segment", () => {
    expect(segmentsOf(`${latin(152)}€${latin(6)}`)).toMatchObject({ units: 160, segments: 1 });
  });

  it("counts a carriage return and line feed as one character but two septets", () => {
    expect(segmentsOf("a\r\nb")).toMatchObject({ encoding: "GSM-7", characters: 3, units: 4 });
  });

  it("lets CR and LF fall in different segments, as each is a character of the alphabet", () => {
    expect(segmentsOf(`${latin(152)}\r\n${latin(152)}`)).toMatchObject({ units: 306, segments: 2 });
  });

  it("counts a form feed as an extension character", () => {
    expect(segmentsOf(`${latin(159)}\f`)).toMatchObject({
      encoding: "GSM-7",
      units: 161,
      segments: 2,
    });
  });
});

describe("segmentsOf choosing UCS-2", () => {
  it.each([
    ["a lower-case c cedilla (the table's 0x09 is the capital)", "ç"],
    ["the escape character, which is a switch and not a character", "\u001b"],
    ["a grave accent", "`"],
    ["a tab", "\t"],
    ["a no-break space", "\u00a0"],
    ["a right single quotation mark", "\u2019"],
    ["an en dash", "\u2013"],
    ["a Greek capital alpha, which looks like A", "\u0391"],
    ["a lower-case Greek letter", "α"],
    ["an accented letter the table lacks", "á"],
    ["a letter with a combining accent", "e\u0301"],
    ["a Chinese character", "中"],
    ["the signature brackets of Chinese routes", "【"],
    ["an emoji", "😀"],
  ])("switches the whole message to UCS-2 for %s", (_name, char) => {
    expect(segmentsOf(`Your code is 1234 ${char}`)).toMatchObject({
      encoding: "UCS-2",
      units: 18 + char.length,
    });
  });

  it("counts the signature of a Chinese route as part of a UCS-2 message", () => {
    // The caller prefixes 【Relaybox】 (10 units): 60 more characters fill one segment.
    expect(segmentsOf(`【Relaybox】${chinese(60)}`)).toMatchObject({ units: 70, segments: 1 });
    expect(segmentsOf(`【Relaybox】${chinese(61)}`)).toMatchObject({ units: 71, segments: 2 });
  });

  it("counts extension characters as one unit each once the message is UCS-2", () => {
    expect(segmentsOf("€{}中")).toMatchObject({ encoding: "UCS-2", units: 4, characters: 4 });
  });
});

describe("segmentsOf with UCS-2 text", () => {
  it("encodes Chinese text as UCS-2", () => {
    expect(segmentsOf("你好，世界")).toEqual({
      encoding: "UCS-2",
      characters: 5,
      units: 5,
      segments: 1,
      perSegment: 70,
    });
  });

  it("fits 70 units in one segment of 70", () => {
    expect(segmentsOf(chinese(70))).toMatchObject({ units: 70, segments: 1, perSegment: 70 });
  });

  it("needs two segments of 67 units for 71", () => {
    expect(segmentsOf(chinese(71))).toMatchObject({ units: 71, segments: 2, perSegment: 67 });
  });

  it.each([
    [134, 2],
    [135, 3],
    [201, 3],
    [202, 4],
    [268, 4],
    [269, 5],
  ])("puts %i units of Chinese in %i segments of 67", (units, segments) => {
    expect(segmentsOf(chinese(units))).toMatchObject({ units, segments, perSegment: 67 });
  });

  it("counts an emoji as one character and two units", () => {
    expect(segmentsOf("ok 😀")).toMatchObject({ encoding: "UCS-2", characters: 4, units: 5 });
  });

  it("fits a surrogate pair that ends on unit 70 in one segment", () => {
    expect(segmentsOf(`${chinese(68)}😀`)).toMatchObject({ units: 70, segments: 1 });
    expect(segmentsOf(`${chinese(69)}😀`)).toMatchObject({ units: 71, segments: 2 });
  });

  it("keeps a surrogate pair that ends on unit 67 in the first segment", () => {
    expect(segmentsOf(`${chinese(65)}😀${chinese(67)}`)).toMatchObject({ units: 134, segments: 2 });
  });

  it("moves a surrogate pair that would straddle units 67 and 68 to the next segment", () => {
    expect(segmentsOf(`${chinese(66)}😀${chinese(66)}`)).toMatchObject({ units: 134, segments: 3 });
  });

  it("moves a surrogate pair that would straddle units 134 and 135 to the next segment", () => {
    expect(segmentsOf(`${chinese(132)}😀${chinese(67)}`)).toMatchObject({
      units: 201,
      segments: 3,
    });
    expect(segmentsOf(`${chinese(133)}😀${chinese(66)}`)).toMatchObject({
      units: 201,
      segments: 4,
    });
  });

  it("moves a whole ZWJ family emoji to the next segment rather than split it", () => {
    // Split at code points, 62 + "👨‍👩" would fill the first segment exactly and the message
    // would fit in two; kept whole, the family starts the second segment and pushes it to three.
    expect(segmentsOf(`${chinese(62)}${family}${chinese(61)}`)).toEqual({
      encoding: "UCS-2",
      characters: 124,
      units: 134,
      segments: 3,
      perSegment: 67,
    });
  });

  it("keeps a ZWJ family emoji that ends on unit 67 in the first segment", () => {
    expect(segmentsOf(`${chinese(56)}${family}${chinese(67)}`).segments).toBe(2);
  });

  it("counts skin-tone, flag, keycap and tag sequences as one character each", () => {
    expect(segmentsOf(`👍🏽🇨🇳1️⃣${england}`)).toMatchObject({
      encoding: "UCS-2",
      characters: 4,
      units: 25,
    });
  });

  it.each([
    ["a skin-tone emoji", `${chinese(65)}👍🏽${chinese(65)}`],
    ["a flag", `${chinese(65)}🇨🇳${chinese(65)}`],
    ["a keycap", `${chinese(66)}1️⃣${chinese(65)}`],
    ["a heart with its variation selector", `${chinese(66)}❤️${chinese(66)}`],
    ["the flag of England, a tag sequence", `${chinese(60)}${england}${chinese(60)}`],
    ["a letter and its combining accent", `${chinese(66)}e\u0301${chinese(66)}`],
    ["a pictograph joined by ZWJ to another", `${chinese(64)}👩‍💻${chinese(65)}`],
  ])("moves %s that would straddle units 67 and 68 to the next segment", (_name, text) => {
    // Each is placed so that a code point boundary falls exactly on unit 67: split there, the
    // 134 units would fit in two segments.
    expect(segmentsOf(text)).toMatchObject({ units: 134, segments: 3 });
  });

  it("keeps a skin-tone emoji that ends on unit 67 in the first segment", () => {
    expect(segmentsOf(`${chinese(63)}👍🏽${chinese(67)}`).segments).toBe(2);
  });

  it("pairs regional indicators into flags from the left", () => {
    expect(segmentsOf("🇨🇳🇺🇸🇫")).toMatchObject({ characters: 3, units: 10 });
  });

  it("does not join a letter to the next through a ZWJ", () => {
    expect(segmentsOf("a\u200db中")).toMatchObject({ characters: 3, units: 4 });
  });

  it("joins a skin tone to any character before it, as Unicode has since version 11", () => {
    // Twilio's calculator (Unicode 10 data) would count two characters here.
    expect(segmentsOf("中🏽")).toMatchObject({ characters: 1, units: 3 });
    expect(segmentsOf("🏽中")).toMatchObject({ characters: 2, units: 3 });
  });

  it("lets CR and LF fall in different UCS-2 segments", () => {
    expect(segmentsOf(`${chinese(66)}\r\n${chinese(66)}`)).toMatchObject({
      characters: 133,
      units: 134,
      segments: 2,
    });
  });

  it("keeps Hangul jamo of one syllable together", () => {
    const syllable = "\u1112\u1161\u11ab"; // 한 as three jamo
    expect(segmentsOf(syllable)).toMatchObject({ characters: 1, units: 3 });
    expect(segmentsOf(`${chinese(65)}${syllable}${chinese(66)}`).segments).toBe(3);
  });

  it("lets CR and LF fall in different segments in text that needs the full cluster rules", () => {
    // The Devanagari letter sends the count through Intl.Segmenter.
    expect(segmentsOf(`क${chinese(65)}\r\n${chinese(66)}`)).toMatchObject({
      units: 134,
      segments: 2,
    });
  });

  it("keeps conjuncts of scripts with a virama together, as Intl.Segmenter does", () => {
    const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
    for (const conjunct of ["क्षि", "က\u1039က", "ក\u17d2ក", "ᬓ\u1b44ᬓ"]) {
      const characters = [...graphemes.segment(conjunct)].length;
      expect(segmentsOf(conjunct).characters, conjunct).toBe(characters);
      expect(segmentsOf(`${chinese(66)}${conjunct}${chinese(70)}`).characters).toBe(
        136 + characters,
      );
    }
  });

  it("counts a lone surrogate as one unit of UCS-2", () => {
    expect(segmentsOf("\ud83d中")).toMatchObject({ encoding: "UCS-2", characters: 2, units: 2 });
  });

  it("splits a cluster longer than a segment at code points, never inside a surrogate pair", () => {
    // One cluster of 30 men joined by ZWJ: 89 units. The first segment ends after a ZWJ at
    // unit 66, because the next man's surrogate pair would cross unit 67.
    const chain = `👨${"\u200d👨".repeat(29)}`;
    // The remaining 23 units and 44 characters fill the second exactly.
    expect(segmentsOf(chain)).toMatchObject({ characters: 1, units: 89, segments: 2 });
    expect(segmentsOf(`${chain}${chinese(44)}`)).toMatchObject({ units: 133, segments: 2 });
    expect(segmentsOf(`${chain}${chinese(45)}`)).toMatchObject({ units: 134, segments: 3 });
  });
});

// generator:start
/** mulberry32, so the generated messages are the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const GSM_PIECES = [
  "code ",
  "1234 ",
  "Müller ",
  "Ça ",
  "€",
  "{",
  "]",
  "^",
  "\\",
  "~",
  "|",
  "\r\n",
  "\n",
];
const UCS2_PIECES = [
  "中",
  "文",
  "，",
  "【",
  "】",
  "ç",
  "’",
  "😀",
  "❤️",
  "👍🏽",
  "🇨🇳",
  "1️⃣",
  "👨‍👩‍👧‍👦",
  "🏳️‍🌈",
  "👩‍💻",
  "🏴󠁧󠁢󠁥󠁮󠁧󠁿",
  "e\u0301",
];

/** Messages of 1 to 400 units: a third GSM-7 only, the rest with UCS-2 pieces mixed in. */
function generatedMessages(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const pick = (list: readonly string[]) => list[Math.floor(random() * list.length)] ?? "";
  const messages: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const target = 1 + Math.floor(random() * 400);
    const gsmOnly = n % 3 === 0;
    let text = "";
    while (text.length < target) {
      text += gsmOnly || random() < 0.4 ? pick(GSM_PIECES) : pick(UCS2_PIECES);
    }
    messages.push(text);
  }
  return messages;
}
// generator:end

// What sms-segments-calculator 1.3.0 (Twilio's) answers for generatedMessages(300, 2024), each
// message as its segment count and G (GSM-7) or U (UCS-2). It cannot run inside workerd, so the
// answers were computed in Node; test/bench/segments.mjs compares the two on 100,000 messages.
const TWILIO_ANSWERS = [
  "3G5U3U3G4U4U3G4U6U1G6U2U3G6U1U2G7U3U2G5U2U2G5U6U4G3U6U2G5U1U1G1U6U4G3U4U3G5U2U2G5U4U1G5U2U",
  "4G5U3U3G2U6U2G3U3U2G1U6U1G4U5U2G6U4U3G2U4U2G5U2U1G5U2U4G7U4U1G5U3U3G3U5U2G5U6U3G1U2U1G3U4U",
  "3G5U2U2G4U2U1G6U6U3G4U5U2G3U2U1G5U6U2G1U2U3G1U5U3G2U5U2G3U6U3G2U4U2G6U2U2G3U2U2G1U1U3G4U4U",
  "2G5U2U1G6U2U4G4U1U1G2U3U3G3U5U1G2U4U3G3U6U1G3U5U3G4U3U3G5U4U3G5U2U2G2U6U1G3U5U3G6U4U3G2U7U",
  "1G3U3U1G6U6U1G6U1U3G7U1U1G5U4U2G5U5U4G5U3U1G1U6U3G4U6U4G5U2U2G4U6U3G4U2U1G4U3U1G2U4U2G6U6U",
  "4G2U4U3G1U2U2G1U5U3G1U1G1G1U4U4G2U3U1G4U6U1G1U1U3G3U1U2G6U5U2G5U2U3G1U5U1G2U3U4G4U5U2G3U5U",
  "1G2U7U2G2U3U1G2U1U3G7U5U2G3U6U2G4U4U1G3U3U3G4U1U3G3U2U1G1U2U",
].join("");

describe("segmentsOf against Twilio's calculator", () => {
  it("gives Twilio's segments and encoding for 300 generated messages", () => {
    const answers = generatedMessages(300, 2024).map((text) => {
      const { segments, encoding } = segmentsOf(text);
      return `${segments}${encoding === "GSM-7" ? "G" : "U"}`;
    });
    expect(answers.join("")).toBe(TWILIO_ANSWERS);
  });
});

describe("segmentsOf against Intl.Segmenter", () => {
  // The reference: whole grapheme clusters from Intl.Segmenter packed greedily, CR LF as two
  // pieces, clusters longer than a part by code points. segmentsOf reaches the same answer without
  // the segmenter for most texts; this catches any rule it gets wrong.
  const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });
  function reference(text: string): { characters: number; segments: number } {
    let characters = 0;
    let segments = 1;
    let used = 0;
    const add = (width: number) => {
      if (used + width > 67) {
        segments += 1;
        used = 0;
      }
      used += width;
    };
    for (const { segment } of graphemes.segment(text)) {
      characters += 1;
      const pieces = segment === "\r\n" || segment.length > 67 ? [...segment] : [segment];
      for (const piece of pieces) {
        add(piece.length);
      }
    }
    return { characters, segments: text.length <= 70 ? 1 : segments };
  }

  const PIECES = [
    "中",
    "a",
    " ",
    "\r",
    "\n",
    "\r\n",
    "😀",
    "❤️",
    "👍",
    "🏽",
    "\u200d",
    "\ufe0f",
    "\u20e3",
    "1",
    "🇨",
    "🇳",
    "👩",
    "💻",
    "🔥",
    "\u0301",
    "\u0308",
    "\u{e0067}",
    "\u{e007f}",
    "🏴",
    "\u200c",
    "\u1112",
    "\u1161",
    "\u11ab",
    "한",
    "क",
    "्",
    "ष",
    "ि",
    "\u0e33",
    "ก",
    "\u00ad",
    "\u200b",
    "\u0600",
    "က",
    "\u1039",
    "ក",
    "\u17d2",
    "\u{16d63}",
    "\u{16d67}",
    "\ud83d",
    "\u{20000}",
    "\u3099",
    "か",
  ];

  it("counts the same characters and segments as the reference for 2,000 random texts", () => {
    const random = seededRandom(7);
    for (let n = 0; n < 2_000; n += 1) {
      const length = 1 + Math.floor(random() * 120);
      let text = "中";
      for (let i = 0; i < length; i += 1) {
        text += PIECES[Math.floor(random() * PIECES.length)] ?? "";
      }
      const { characters, segments } = segmentsOf(text);
      expect({ characters, segments }, JSON.stringify(text)).toEqual(reference(text));
    }
  });
});
