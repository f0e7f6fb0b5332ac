/**
 * Auto-reply rules, for WeChat now and SMS keywords later: which rule answers an inbound message.
 * A text is matched against the keyword rules by priority (lower first), then by kind (exact before
 * prefix before contains), case-insensitively and with surrounding spaces ignored; a follow gets
 * the subscribe welcome; any other message gets the default reply when there is one; other events
 * get nothing.
 */
import type { AutoReplyMatch } from "./vocabulary";

export interface AutoReplyRule<R = unknown> {
  id: string;
  match: AutoReplyMatch;
  keyword: string | null;
  reply: R;
  priority: number;
}

export type Inbound =
  | { kind: "text"; text: string }
  | { kind: "subscribe" }
  | { kind: "message" }
  | { kind: "event" };

const KIND_ORDER: Record<AutoReplyMatch, number> = {
  exact: 0,
  prefix: 1,
  contains: 2,
  subscribe: 3,
  default: 4,
};

function normal(text: string): string {
  return text.trim().toLowerCase();
}

function matches(rule: AutoReplyRule, text: string): boolean {
  const keyword = normal(rule.keyword ?? "");
  if (keyword === "") {
    return false;
  }
  switch (rule.match) {
    case "exact":
      return text === keyword;
    case "prefix":
      return text.startsWith(keyword);
    case "contains":
      return text.includes(keyword);
    default:
      return false;
  }
}

export function chooseReply<R>(
  rules: readonly AutoReplyRule<R>[],
  inbound: Inbound,
): AutoReplyRule<R> | null {
  const ordered = [...rules].sort(
    (a, b) => a.priority - b.priority || KIND_ORDER[a.match] - KIND_ORDER[b.match],
  );
  if (inbound.kind === "subscribe") {
    return ordered.find((rule) => rule.match === "subscribe") ?? null;
  }
  if (inbound.kind === "event") {
    return null;
  }
  if (inbound.kind === "text") {
    const text = normal(inbound.text);
    const hit = ordered.find((rule) => matches(rule, text));
    if (hit) {
      return hit;
    }
  }
  return ordered.find((rule) => rule.match === "default") ?? null;
}
