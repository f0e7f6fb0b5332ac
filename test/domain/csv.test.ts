import { describe, expect, it } from "vitest";
import { csvCell, csvRow } from "../../src/domain/csv";

describe("CSV cells", () => {
  it("writes empty for null, numbers as they are, plain text unquoted", () => {
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
    expect(csvCell(0.0065)).toBe("0.0065");
    expect(csvCell(-3)).toBe("-3");
    expect(csvCell("hello 您好")).toBe("hello 您好");
  });

  it("quotes commas, quotes and line breaks, doubling quotes", () => {
    expect(csvCell("a,b")).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell("one\ntwo")).toBe('"one\ntwo"');
    expect(csvCell("one\r\ntwo")).toBe('"one\r\ntwo"');
  });

  it.each(["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])(
    "guards text that starts a formula: %j",
    (text) => {
      const cell = csvCell(text);
      expect(cell.replace(/^"/, "").startsWith(`'${text.charAt(0)}`)).toBe(true);
    },
  );

  it("guards and quotes at once: the quote goes around the guarded text", () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell("\rcmd")).toBe(`"'\rcmd"`);
  });

  it("keeps an E.164 number in a phone column as it is, and guards anything else there", () => {
    expect(csvCell("+8613800138000", "phone")).toBe("+8613800138000");
    expect(csvCell("+8613800138000")).toBe("'+8613800138000");
    expect(csvCell("+1 (415) 555", "phone")).toBe("'+1 (415) 555");
    expect(csvCell("=cmd", "phone")).toBe("'=cmd");
    expect(csvCell("Acme", "phone")).toBe("Acme");
  });

  it("ends a row with CRLF", () => {
    expect(csvRow(["a", "", "c"])).toBe("a,,c\r\n");
  });
});
