import { describe, expect, it } from "vitest";
import {
  defaultSatisfactionQuestion,
  inSample,
  sampleForInspection,
  sampleHash,
  scoreAgainst,
} from "../../src/domain/inspection";

const ITEMS = [
  { id: "itm_greet", label: "Greets", points: 10 },
  { id: "itm_solve", label: "Solves", points: 30 },
];

describe("scoring against a checklist", () => {
  it("adds the points of every item and the checklist's maximum", () => {
    expect(
      scoreAgainst(ITEMS, [
        { item_id: "itm_solve", points: 25 },
        { item_id: "itm_greet", points: 10 },
      ]),
    ).toEqual({ ok: true, score: 35, maxScore: 40 });
  });

  it("points at an item over its points, an unknown item, a twice-scored one and missing ones", () => {
    const result = scoreAgainst(ITEMS, [
      { item_id: "itm_greet", points: 11 },
      { item_id: "itm_nope", points: 1 },
      { item_id: "itm_greet", points: 1 },
    ]);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => e.pointer)).toEqual([
      "/items/0/points",
      "/items/1/item_id",
      "/items/2/item_id",
      "/items",
    ]);
  });

  it("refuses negative and fractional points", () => {
    const result = scoreAgainst(ITEMS, [
      { item_id: "itm_greet", points: -1 },
      { item_id: "itm_solve", points: 2.5 },
    ]);
    expect(result.ok ? [] : result.errors.map((e) => e.pointer)).toEqual([
      "/items/0/points",
      "/items/1/points",
    ]);
  });
});

describe("the sampling rule", () => {
  const ids = Array.from({ length: 1000 }, (_, i) => `cnv_${String(i).padStart(26, "0")}`);

  it("hashes an id the same way every time and spreads ids over the percentages", () => {
    expect(sampleHash(ids[7] ?? "")).toBe(sampleHash(ids[7] ?? ""));
    const share = ids.filter((id) => inSample(id, 10)).length;
    expect(share).toBeGreaterThan(60);
    expect(share).toBeLessThan(140);
    expect(ids.filter((id) => inSample(id, 0))).toEqual([]);
    expect(ids.filter((id) => inSample(id, 100))).toHaveLength(1000);
  });

  it("samples each agent-day by the hash, and at least one of an agent-day that has any", () => {
    const resolved = ids.slice(0, 40).map((id, i) => ({
      conversationId: id,
      agentId: i < 30 ? "usr_A" : "usr_B",
      day: i % 2 === 0 ? "2026-12-07" : "2026-12-08",
      resolvedAt: i,
    }));
    const picked = sampleForInspection(resolved, 10);
    const groups = new Set(picked.map((p) => `${p.agentId}|${p.day}`));
    expect(groups).toEqual(
      new Set(["usr_A|2026-12-07", "usr_A|2026-12-08", "usr_B|2026-12-07", "usr_B|2026-12-08"]),
    );
    for (const p of picked) {
      const group = resolved.filter((r) => r.agentId === p.agentId && r.day === p.day);
      const anyInPercent = group.some((r) => inSample(r.conversationId, 10));
      if (anyInPercent) {
        expect(inSample(p.conversationId, 10)).toBe(true);
      } else {
        const least = Math.min(...group.map((r) => sampleHash(r.conversationId)));
        expect(sampleHash(p.conversationId)).toBe(least);
      }
    }
    expect(sampleForInspection([...resolved].reverse(), 10)).toEqual(picked);
  });

  it("takes one conversation of an agent-day even at 0 percent, and none of an empty day", () => {
    const one = [{ conversationId: "cnv_X", agentId: "usr_A", day: "2026-12-07", resolvedAt: 1 }];
    expect(sampleForInspection(one, 0)).toEqual(one);
    expect(sampleForInspection([], 50)).toEqual([]);
  });
});

it("asks the satisfaction question in the tenant's language by default", () => {
  expect(defaultSatisfactionQuestion("CN")).toMatch(/1–5/);
  expect(defaultSatisfactionQuestion("CN")).toMatch(/评分/);
  expect(defaultSatisfactionQuestion("GB")).toMatch(/^How did we do/);
});
