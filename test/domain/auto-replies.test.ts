import { describe, expect, it } from "vitest";
import { type AutoReplyRule, chooseReply } from "../../src/domain/auto-replies";

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
