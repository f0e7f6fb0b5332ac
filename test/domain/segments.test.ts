import { describe, expect, it } from "vitest";
import { isGsm7, segmentsOf, smartEncode } from "../../src/domain/segments";

const plain = (count: number) => "a".repeat(count);
const chinese = (count: number) => "中".repeat(count);
const family = "\u{1f468}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}"; // 👨‍👩‍👧‍👦, 11 units

describe("segmentsOf with GSM-7 text", () => {
  it("counts an empty text as no segment", () => {
    expect(segmentsOf("")).toEqual({
      encoding: "GSM-7",
      characters: 0,
      units: 0,
      segments: 0,
      perSegment: 160,
    });
  });

  it("fits 160 septets in one segment and needs two for 161", () => {
    expect(segmentsOf(plain(160))).toEqual({
      encoding: "GSM-7",
      characters: 160,
      units: 160,
      segments: 1,
      perSegment: 160,
    });
    expect(segmentsOf(plain(161))).toEqual({
      encoding: "GSM-7",
      characters: 161,
      units: 161,
      segments: 2,
      perSegment: 153,
    });
  });

  it("fits 306 septets in two segments of 153 and needs three for 307", () => {
    expect(segmentsOf(plain(306)).segments).toBe(2);
    expect(segmentsOf(plain(307)).segments).toBe(3);
  });

  it("counts every extension-table character as two septets", () => {
    for (const char of ["^", "{", "}", "\\", "[", "~", "]", "|", "€", "\f"]) {
      expect(segmentsOf(char), JSON.stringify(char)).toMatchObject({
        encoding: "GSM-7",
        characters: 1,
        units: 2,
      });
    }
  });

  it("counts every basic-table character as one septet", () => {
    const basic =
      "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
      "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    expect(basic.length).toBe(127);
    for (const char of basic) {
      expect(segmentsOf(char), JSON.stringify(char)).toMatchObject({ encoding: "GSM-7", units: 1 });
    }
  });

  it("keeps accented and Greek basic-table letters in GSM-7", () => {
    expect(segmentsOf("Café Öl Δ Straße")).toMatchObject({
      encoding: "GSM-7",
      characters: 16,
      units: 16,
    });
  });

  it("lets an extension character push a message past 160 septets", () => {
    expect(segmentsOf(`${plain(158)}€`)).toMatchObject({ units: 160, segments: 1 });
    expect(segmentsOf(`${plain(159)}€`)).toMatchObject({ units: 161, segments: 2 });
  });

  it("moves an escape pair that would straddle septets 153 and 154 to the next segment", () => {
    // 306 septets fill two segments exactly only if the pair fits before the boundary.
    expect(segmentsOf(`${plain(151)}€${plain(153)}`)).toMatchObject({ units: 306, segments: 2 });
    expect(segmentsOf(`${plain(152)}€${plain(152)}`)).toMatchObject({ units: 306, segments: 3 });
  });

  it("counts a carriage return and line feed as one character but two septets", () => {
    expect(segmentsOf("a\r\nb")).toMatchObject({ encoding: "GSM-7", characters: 3, units: 4 });
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

  it("switches the whole message to UCS-2 for one character outside the GSM alphabet", () => {
    // The basic table has Ç but not ç.
    expect(segmentsOf(`ça va${plain(100)}`)).toMatchObject({
      encoding: "UCS-2",
      units: 105,
      segments: 2,
      perSegment: 67,
    });
  });

  it("fits 70 units in one segment and needs two for 71", () => {
    expect(segmentsOf(chinese(70))).toMatchObject({ units: 70, segments: 1, perSegment: 70 });
    expect(segmentsOf(chinese(71))).toMatchObject({ units: 71, segments: 2, perSegment: 67 });
  });

  it("fits 134 units in two segments of 67 and needs three for 135", () => {
    expect(segmentsOf(chinese(134)).segments).toBe(2);
    expect(segmentsOf(chinese(135)).segments).toBe(3);
  });

  it("counts an emoji as one character and two units", () => {
    expect(segmentsOf("ok 😀")).toMatchObject({ encoding: "UCS-2", characters: 4, units: 5 });
  });

  it("moves a surrogate pair that would straddle units 67 and 68 to the next segment", () => {
    expect(segmentsOf(`${chinese(65)}😀${chinese(67)}`)).toMatchObject({
      units: 134,
      segments: 2,
    });
    expect(segmentsOf(`${chinese(66)}😀${chinese(66)}`)).toMatchObject({
      units: 134,
      segments: 3,
    });
  });

  it("moves a whole ZWJ family emoji to the next segment rather than split it", () => {
    // Split at code points, 62 + "👨‍👩" would fill the first segment exactly and the message
    // would fit in two; kept whole, the family starts the second segment and pushes it to three.
    const text = `${chinese(62)}${family}${chinese(61)}`;
    expect(segmentsOf(text)).toEqual({
      encoding: "UCS-2",
      characters: 124,
      units: 134,
      segments: 3,
      perSegment: 67,
    });
  });

  it("counts skin-tone, flag and keycap sequences as one character each", () => {
    expect(segmentsOf("👍🏽🇨🇳1️⃣")).toMatchObject({ encoding: "UCS-2", characters: 3, units: 11 });
  });

  it("keeps skin-tone, flag and keycap sequences whole across a boundary", () => {
    // Each is placed so that a code point boundary falls exactly on unit 67: split there, the
    // 134 units would fit in two segments.
    expect(segmentsOf(`${chinese(65)}👍🏽${chinese(65)}`).segments).toBe(3);
    expect(segmentsOf(`${chinese(65)}🇨🇳${chinese(65)}`).segments).toBe(3);
    expect(segmentsOf(`${chinese(66)}1️⃣${chinese(65)}`).segments).toBe(3);
    expect(segmentsOf(`${chinese(63)}👍🏽${chinese(67)}`).segments).toBe(2);
  });

  it("splits a cluster longer than a segment at code points, never inside a surrogate pair", () => {
    // One cluster of 30 men joined by ZWJ: 89 units. The first segment ends after a ZWJ at
    // unit 66, because the next man's surrogate pair would cross unit 67.
    const chain = `👨${"\u200d👨".repeat(29)}`;
    expect(segmentsOf(chain)).toMatchObject({ characters: 1, units: 89, segments: 2 });
    expect(segmentsOf(`${chain}${chinese(45)}`)).toMatchObject({ units: 134, segments: 3 });
  });
});

describe("isGsm7", () => {
  it("accepts the basic and extension tables and refuses anything else", () => {
    expect(isGsm7("Hello {world} €5 [ok] ~^|\\")).toBe(true);
    expect(isGsm7("")).toBe(true);
    expect(isGsm7("“Hello”")).toBe(false);
    expect(isGsm7("你好")).toBe(false);
    expect(isGsm7("😀")).toBe(false);
  });

  it("refuses a bare escape character, which is a switch and not a character", () => {
    expect(isGsm7("\u001b")).toBe(false);
  });
});

describe("smartEncode", () => {
  it("turns curly quotes and dashes into their GSM-7 twins", () => {
    const encoded = smartEncode("“Hello” — it’s");
    expect(encoded).toBe('"Hello" - it\'s');
    expect(isGsm7(encoded)).toBe(true);
  });

  it("turns an ellipsis into three dots and unicode spaces into spaces", () => {
    expect(smartEncode("Wait\u2026 10\u00a0000\u2009kg\u3000ok")).toBe("Wait... 10 000 kg ok");
  });

  it("turns full-width forms into ASCII", () => {
    expect(smartEncode("ＯＫ！（１２３）")).toBe("OK!(123)");
  });

  it("composes a letter and a combining accent that the basic table holds precomposed", () => {
    expect(smartEncode("Cafe\u0301")).toBe("Café");
  });

  it("drops invisible characters left by a copy-paste", () => {
    expect(smartEncode("\ufeffcode:\u200b 1234")).toBe("code: 1234");
  });

  it("leaves GSM-7 text as it is", () => {
    const text = "Your code is 1234. {Ç'est} €5 - ok";
    expect(smartEncode(text)).toBe(text);
  });

  it("leaves a text that stays UCS-2 as it is, look-alikes included", () => {
    expect(smartEncode("“你好” — 世界")).toBe("“你好” — 世界");
    expect(smartEncode("It’s done 😀")).toBe("It’s done 😀");
  });
});
