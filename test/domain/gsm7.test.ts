import { describe, expect, it } from "vitest";
import { BASIC_TABLE, EXTENSION_TABLE, isGsm7, SEPTETS, septetsOf } from "../../src/domain/gsm7";

// 3GPP TS 23.038 §6.2.1: the cells of the basic table whose character is not the ASCII one at the
// same code, as [code, Unicode code point]. Every other code of 0x20-0x7F is ASCII.
const NON_ASCII_CELLS: ReadonlyArray<readonly [number, number]> = [
  [0x00, 0x40],
  [0x01, 0xa3],
  [0x02, 0x24],
  [0x03, 0xa5],
  [0x04, 0xe8],
  [0x05, 0xe9],
  [0x06, 0xf9],
  [0x07, 0xec],
  [0x08, 0xf2],
  [0x09, 0xc7],
  [0x0a, 0x0a],
  [0x0b, 0xd8],
  [0x0c, 0xf8],
  [0x0d, 0x0d],
  [0x0e, 0xc5],
  [0x0f, 0xe5],
  [0x10, 0x394],
  [0x11, 0x5f],
  [0x12, 0x3a6],
  [0x13, 0x393],
  [0x14, 0x39b],
  [0x15, 0x3a9],
  [0x16, 0x3a0],
  [0x17, 0x3a8],
  [0x18, 0x3a3],
  [0x19, 0x398],
  [0x1a, 0x39e],
  [0x1b, 0x1b],
  [0x1c, 0xc6],
  [0x1d, 0xe6],
  [0x1e, 0xdf],
  [0x1f, 0xc9],
  [0x24, 0xa4],
  [0x40, 0xa1],
  [0x5b, 0xc4],
  [0x5c, 0xd6],
  [0x5d, 0xd1],
  [0x5e, 0xdc],
  [0x5f, 0xa7],
  [0x60, 0xbf],
  [0x7b, 0xe4],
  [0x7c, 0xf6],
  [0x7d, 0xf1],
  [0x7e, 0xfc],
  [0x7f, 0xe0],
];

// §6.2.1.1, the extension table: [code after ESC, Unicode code point].
const EXTENSION_CELLS = [
  [0x0a, 0x0c],
  [0x14, 0x5e],
  [0x28, 0x7b],
  [0x29, 0x7d],
  [0x2f, 0x5c],
  [0x3c, 0x5b],
  [0x3d, 0x7e],
  [0x3e, 0x5d],
  [0x40, 0x7c],
  [0x65, 0x20ac],
];

describe("the GSM 7-bit default alphabet", () => {
  it("holds 128 codes, each at the place TS 23.038 gives it", () => {
    expect(BASIC_TABLE).toHaveLength(128);
    const special = new Map(NON_ASCII_CELLS);
    for (let code = 0; code < 128; code += 1) {
      const expected = special.get(code) ?? code;
      expect(BASIC_TABLE.codePointAt(code), `code 0x${code.toString(16)}`).toBe(expected);
    }
  });

  it("holds the ten characters of the extension table", () => {
    expect([...EXTENSION_TABLE].map((char) => char.codePointAt(0))).toEqual(
      EXTENSION_CELLS.map(([, codePoint]) => codePoint),
    );
  });

  it("costs one septet for each basic character and two for each extension character", () => {
    for (const char of BASIC_TABLE.replace("\u001b", "")) {
      expect(septetsOf(char.charCodeAt(0)), JSON.stringify(char)).toBe(1);
    }
    for (const char of EXTENSION_TABLE) {
      expect(septetsOf(char.charCodeAt(0)), JSON.stringify(char)).toBe(2);
    }
    // 127 + 10: the same 137 characters as Twilio's calculator, and no other.
    expect(SEPTETS.filter((septets) => septets > 0)).toHaveLength(137);
  });

  it("has no place for the escape character itself or for a lower-case c cedilla", () => {
    expect(septetsOf(0x1b)).toBe(0);
    expect(septetsOf("ç".charCodeAt(0))).toBe(0);
    expect(septetsOf("Ç".charCodeAt(0))).toBe(1);
  });

  it("has no place for code units past the euro sign", () => {
    expect(septetsOf(0x20ad)).toBe(0);
    expect(septetsOf(0xffff)).toBe(0);
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
