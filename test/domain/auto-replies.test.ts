import { describe, expect, it } from "vitest";
import {
  type AutoReplyRule,
  chooseReply,
  isWithinWindow,
  keywordMatches,
  normalKeywordText,
} from "../../src/domain/auto-replies";

const rule = (
  id: string,
  match: AutoReplyRule["match"],
  keyword: string | null,
  priority = 100,
) => ({
  id,
  match,
  keyword,
  reply: { type: "text", content: id },
  priority,
});

const rules = [
  rule("help-contains", "contains", "help"),
  rule("hours-exact", "exact", "Hours"),
  rule("order-prefix", "prefix", "order"),
  rule("welcome", "subscribe", null),
  rule("fallback", "default", null),
];

describe("choosing an auto-reply", () => {
  it("matches exact, prefix and contains keywords, ignoring case and surrounding spaces", () => {
    expect(chooseReply(rules, { kind: "text", text: "  HOURS " })?.id).toBe("hours-exact");
    expect(chooseReply(rules, { kind: "text", text: "order 1234" })?.id).toBe("order-prefix");
    expect(chooseReply(rules, { kind: "text", text: "I need help now" })?.id).toBe("help-contains");
  });

  it("prefers an exact match over a prefix or contains match of the same priority", () => {
    const overlapping = [rule("c", "contains", "hours"), rule("e", "exact", "hours")];
    expect(chooseReply(overlapping, { kind: "text", text: "hours" })?.id).toBe("e");
  });

  it("lets a lower priority number win over the kind of match", () => {
    const prioritised = [rule("e", "exact", "hours", 100), rule("c", "contains", "hour", 1)];
    expect(chooseReply(prioritised, { kind: "text", text: "hours" })?.id).toBe("c");
  });

  it("answers other texts and other messages with the default, a follow with the welcome, events with nothing", () => {
    expect(chooseReply(rules, { kind: "text", text: "hello" })?.id).toBe("fallback");
    expect(chooseReply(rules, { kind: "message" })?.id).toBe("fallback");
    expect(chooseReply(rules, { kind: "subscribe" })?.id).toBe("welcome");
    expect(chooseReply(rules, { kind: "event" })).toBeNull();
    expect(chooseReply([], { kind: "text", text: "hours" })).toBeNull();
  });
});

describe("the keyword matcher for SMS and WeChat alike", () => {
  it("matches Chinese keywords exactly, as a prefix and inside a text", () => {
    const chinese = [
      rule("price", "exact", "价格"),
      rule("order", "prefix", "订单"),
      rule("refund", "contains", "退款"),
    ];
    expect(chooseReply(chinese, { kind: "text", text: "价格" })?.id).toBe("price");
    expect(chooseReply(chinese, { kind: "text", text: "价格多少" })).toBeNull();
    expect(chooseReply(chinese, { kind: "text", text: "订单12345" })?.id).toBe("order");
    expect(chooseReply(chinese, { kind: "text", text: "我想申请退款可以吗" })?.id).toBe("refund");
  });

  it("ignores case, surrounding spaces (full-width too) and full-width letters", () => {
    const keyed = [rule("help", "exact", " Help ")];
    expect(chooseReply(keyed, { kind: "text", text: "hElP" })?.id).toBe("help");
    expect(chooseReply(keyed, { kind: "text", text: "\u3000 HELP\t\n" })?.id).toBe("help");
    expect(chooseReply(keyed, { kind: "text", text: "ＨＥＬＰ" })?.id).toBe("help");
    expect(chooseReply(keyed, { kind: "text", text: "he lp" })).toBeNull();
  });

  it("never answers a text with a keyword rule whose keyword is empty", () => {
    expect(chooseReply([rule("blank", "contains", "  ")], { kind: "text", text: "x" })).toBeNull();
  });

  it("keywordMatches matches `all` on every text", () => {
    expect(keywordMatches("all", null, "")).toBe(true);
    expect(keywordMatches("prefix", "td", normalKeywordText("TD please"))).toBe(true);
    expect(keywordMatches("contains", "td", normalKeywordText("stop"))).toBe(false);
  });
});

describe("active windows", () => {
  const window = { days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00" };
  const office = { ...rule("office", "contains", "hi", 1), activeWindow: window };
  const always = rule("always", "contains", "hi", 2);
  // 2026-12-07 is a Monday.
  const shanghai = (iso: string) => ({ at: Date.parse(iso), zone: "Asia/Shanghai" });

  it("answers inside the window in the tenant's zone and falls through to the next rule outside it", () => {
    const both = [office, always];
    // 10:00 in Shanghai on a Monday is 02:00 UTC.
    expect(
      chooseReply(both, { kind: "text", text: "hi" }, shanghai("2026-12-07T02:00:00Z"))?.id,
    ).toBe("office");
    // 20:00 Monday in Shanghai is outside; 12:00 UTC Monday is 20:00 there.
    expect(
      chooseReply(both, { kind: "text", text: "hi" }, shanghai("2026-12-07T12:00:00Z"))?.id,
    ).toBe("always");
    // Saturday 10:00 in Shanghai.
    expect(
      chooseReply(both, { kind: "text", text: "hi" }, shanghai("2026-12-12T02:00:00Z"))?.id,
    ).toBe("always");
  });

  it("reads the weekday in the zone, not in UTC", () => {
    // Monday 01:00 in Shanghai is still Sunday 17:00 in UTC.
    const mondayMorning = { days: [1], start: "00:00", end: "02:00" };
    expect(isWithinWindow(mondayMorning, shanghai("2026-12-06T17:00:00Z"))).toBe(true);
    expect(
      isWithinWindow(mondayMorning, { at: Date.parse("2026-12-06T17:00:00Z"), zone: "UTC" }),
    ).toBe(false);
  });

  it("runs an overnight window into the next morning of the day it starts on", () => {
    const fridayNight = { days: [5], start: "22:00", end: "06:00" };
    // Friday 23:00 and Saturday 05:00 in Shanghai: inside; Saturday 07:00 and Friday 05:00: outside.
    expect(isWithinWindow(fridayNight, shanghai("2026-12-11T15:00:00Z"))).toBe(true);
    expect(isWithinWindow(fridayNight, shanghai("2026-12-11T21:00:00Z"))).toBe(true);
    expect(isWithinWindow(fridayNight, shanghai("2026-12-11T23:00:00Z"))).toBe(false);
    expect(isWithinWindow(fridayNight, shanghai("2026-12-10T21:00:00Z"))).toBe(false);
  });

  it("keeps a windowed rule silent when no clock is given", () => {
    expect(chooseReply([office], { kind: "text", text: "hi" })).toBeNull();
  });
});
