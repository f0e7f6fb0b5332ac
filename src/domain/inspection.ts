/**
 * Quality inspection (质检): an inspector scores a resolved conversation against a checklist, item
 * by item, each within the item's points; and the sampling rule that fills the inspector's queue:
 * of each agent's conversations resolved on a day, those whose id hashes under the tenant's
 * percentage, and at least one for every agent-day that has any. The hash makes the sample the
 * same on every read, so the queue does not shuffle as it is worked through.
 */

export interface ChecklistItem {
  id: string;
  label: string;
  points: number;
}

export interface ScoredItem {
  item_id: string;
  points: number;
}

export interface FieldProblem {
  pointer: string;
  detail: string;
}

export const MAX_CHECKLIST_ITEMS = 50;
export const MAX_ITEM_POINTS = 100;

/**
 * The score of `given` against `items`: every item scored exactly once, each with whole points
 * from 0 to the item's own; problems carry the pointer of the offending entry.
 */
export function scoreAgainst(
  items: readonly ChecklistItem[],
  given: readonly ScoredItem[],
): { ok: true; score: number; maxScore: number } | { ok: false; errors: FieldProblem[] } {
  const byId = new Map(items.map((i) => [i.id, i]));
  const seen = new Set<string>();
  const errors: FieldProblem[] = [];
  given.forEach((g, index) => {
    const item = byId.get(g.item_id);
    if (!item) {
      errors.push({ pointer: `/items/${index}/item_id`, detail: "not an item of the checklist" });
      return;
    }
    if (seen.has(g.item_id)) {
      errors.push({ pointer: `/items/${index}/item_id`, detail: "scored twice" });
      return;
    }
    seen.add(g.item_id);
    if (!Number.isInteger(g.points) || g.points < 0 || g.points > item.points) {
      errors.push({
        pointer: `/items/${index}/points`,
        detail: `a whole number from 0 to ${item.points}`,
      });
    }
  });
  const missing = items.filter((i) => !seen.has(i.id));
  if (missing.length > 0) {
    errors.push({
      pointer: "/items",
      detail: `every item needs a score; missing: ${missing.map((i) => i.id).join(", ")}`,
    });
  }
  if (errors.length > 0) {
    return { ok: false, errors };
  }
  return {
    ok: true,
    score: given.reduce((sum, g) => sum + g.points, 0),
    maxScore: items.reduce((sum, i) => sum + i.points, 0),
  };
}

/** FNV-1a (32 bits) of the id's UTF-16 units: stable, cheap and evenly spread over ids. */
export function sampleHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Whether the id falls in the sample of `percent` (0–100) by its hash alone. */
export function inSample(id: string, percent: number): boolean {
  return sampleHash(id) % 100 < percent;
}

export interface ResolvedConversation {
  conversationId: string;
  agentId: string | null;
  /** The day of its resolution in the desk's zone, `YYYY-MM-DD`. */
  day: string;
  resolvedAt: number;
}

/**
 * The sample of `resolved`: per agent and day, the conversations in the hash's `percent`, or, when
 * none of an agent-day's is, the one with the smallest hash. Oldest resolution first.
 */
export function sampleForInspection(
  resolved: readonly ResolvedConversation[],
  percent: number,
): ResolvedConversation[] {
  const groups = new Map<string, ResolvedConversation[]>();
  for (const r of resolved) {
    const key = `${r.agentId ?? ""}|${r.day}`;
    const list = groups.get(key) ?? [];
    list.push(r);
    groups.set(key, list);
  }
  const picked: ResolvedConversation[] = [];
  for (const list of groups.values()) {
    const inPercent = list.filter((r) => inSample(r.conversationId, percent));
    if (inPercent.length > 0) {
      picked.push(...inPercent);
      continue;
    }
    let least = list[0];
    for (const r of list) {
      if (least === undefined || sampleHash(r.conversationId) < sampleHash(least.conversationId)) {
        least = r;
      }
    }
    if (least) {
      picked.push(least);
    }
  }
  return picked.sort(
    (a, b) => a.resolvedAt - b.resolvedAt || a.conversationId.localeCompare(b.conversationId),
  );
}

/** The satisfaction question when the tenant wrote none, in its language. */
export function defaultSatisfactionQuestion(homeCountry: string): string {
  return ["CN", "HK", "MO", "TW"].includes(homeCountry)
    ? "请为本次服务评分：回复 1–5 的数字（5 为非常满意）。"
    : "How did we do? Reply with a digit from 1 to 5 (5: very satisfied).";
}
