import { describe, expect, it } from "vitest";
import { isGsm7 } from "../../src/domain/gsm7";
import { segmentsOf } from "../../src/domain/segments";
import { smartEncode } from "../../src/domain/smart-encoding";

describe("smartEncode", () => {
  it("turns curly quotes into straight ones", () => {
    expect(smartEncode("“Hello” ‘world’ it’s „so“")).toBe(`"Hello" 'world' it's "so"`);
  });

  it("turns en and em dashes into hyphens", () => {
    expect(smartEncode("9–5 — every day")).toBe("9-5 - every day");
  });

  it("turns an ellipsis into three dots and unicode spaces into spaces", () => {
    expect(smartEncode("Wait\u2026 10\u00a0000\u2009kg\u3000ok")).toBe("Wait... 10 000 kg ok");
  });

  it("turns full-width forms into ASCII", () => {
    expect(smartEncode("ＯＫ！（１２３）")).toBe("OK!(123)");
  });

  it("turns angle quotes and bullets into their GSM-7 look-alikes", () => {
    expect(smartEncode("‹a› • b ‼")).toBe("<a> - b !!");
  });

  it("composes a letter and a combining accent that the basic table holds precomposed", () => {
    expect(smartEncode("Cafe\u0301")).toBe("Café");
  });

  it("drops invisible characters left by a copy-paste", () => {
    expect(smartEncode("\ufeffcode:\u200b 1234")).toBe("code: 1234");
  });

  it("brings a 160-character text with one curly apostrophe back to one GSM-7 segment", () => {
    const text = `It’s ${"a".repeat(155)}`;
    expect(segmentsOf(text)).toMatchObject({ encoding: "UCS-2", segments: 3 });
    const encoded = smartEncode(text);
    expect(isGsm7(encoded)).toBe(true);
    expect(segmentsOf(encoded)).toMatchObject({ encoding: "GSM-7", units: 160, segments: 1 });
  });

  it("leaves GSM-7 text as it is", () => {
    const text = "Your code is 1234. {Ç'est} €5 - ok";
    expect(smartEncode(text)).toBe(text);
  });

  it("leaves a text that stays UCS-2 because of Chinese as it is, look-alikes included", () => {
    expect(smartEncode("“你好” — 世界")).toBe("“你好” — 世界");
  });

  it("leaves a text that stays UCS-2 because of an emoji as it is", () => {
    expect(smartEncode("It’s done 😀")).toBe("It’s done 😀");
    expect(smartEncode("“Family” 👨‍👩‍👧")).toBe("“Family” 👨‍👩‍👧");
  });

  it("leaves a text that stays UCS-2 because of an accented letter outside the alphabet", () => {
    // Dropping the accent of ç or á would change the word: that is the sender's call.
    expect(smartEncode("Ça va — ça va")).toBe("Ça va — ça va");
    expect(smartEncode("“Olá”")).toBe("“Olá”");
  });
});
