import { describe, expect, it } from "vitest";
import { hasOptOutLine, withOptOutLine } from "../../src/domain/opt-out";

describe("withOptOutLine", () => {
  it("adds 拒收请回复R for Chinese numbers and Reply STOP elsewhere", () => {
    expect(withOptOutLine("春季大促，全场五折", "CN")).toBe("春季大促，全场五折 拒收请回复R");
    expect(withOptOutLine("Spring sale: 50% off", "US")).toBe(
      "Spring sale: 50% off Reply STOP to opt out",
    );
    expect(withOptOutLine("Spring sale", "HK")).toBe("Spring sale Reply STOP to opt out");
  });

  it("puts the line on its own line in a text of several lines", () => {
    expect(withOptOutLine("Spring sale\n50% off", "GB")).toBe(
      "Spring sale\n50% off\nReply STOP to opt out",
    );
  });

  it("adds no separator after trailing whitespace", () => {
    expect(withOptOutLine("Sale!\n", "GB")).toBe("Sale!\nReply STOP to opt out");
  });

  it.each(["大促 拒收请回复R", "大促，回T退订", "大促 退订回TD", "大促 回复TD退订"])(
    "keeps %s as it is for a Chinese number, since it carries the Chinese line",
    (text) => {
      expect(hasOptOutLine(text)).toBe(true);
      expect(withOptOutLine(text, "CN")).toBe(text);
      expect(withOptOutLine(text, "US")).toBe(`${text} Reply STOP to opt out`);
    },
  );

  it.each([
    "Sale! Reply STOP to opt out",
    "Sale! reply stop to end",
    "Sale! Text STOP to quit",
    "Sale! Unsubscribe: https://x.test/u",
    "Sale! Opt-out at x.test",
  ])("keeps %s as it is elsewhere, and adds the Chinese line for a Chinese number", (text) => {
    expect(hasOptOutLine(text)).toBe(true);
    expect(withOptOutLine(text, "US")).toBe(text);
    expect(withOptOutLine(text, "CN")).toBe(`${text} 拒收请回复R`);
  });

  it("counts only the template's own words, not a variable's value", () => {
    const rendered = "Hi Opt Out Olga, 50% off today";
    expect(withOptOutLine(rendered, "GB", "Hi , 50% off today")).toBe(
      `${rendered} Reply STOP to opt out`,
    );
  });

  it("does not take a bare 'stop' for an opt-out line", () => {
    expect(withOptOutLine("Non-stop deals all week", "US")).toBe(
      "Non-stop deals all week Reply STOP to opt out",
    );
  });
});
