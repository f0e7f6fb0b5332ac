/** Merging a tenant's send-log partitions' answers: ordered pages, and sums by group. */
import { describe, expect, it } from "vitest";
import { mergeOrdered, newestFirst, sumByGroup } from "../../src/services/messaging/send-log-reads";

const id = (row: { id: string }) => row.id;
const byId = newestFirst(id);

/** A small deterministic generator, so a failure replays. */
function lcg(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("mergeOrdered", () => {
  it("pages rows spread over partitions exactly as one database holding them all would", () => {
    const random = lcg(7);
    for (let round = 0; round < 20; round++) {
      const partitions: { id: string }[][] = [[], [], []];
      const all: { id: string }[] = [];
      for (let i = 0; i < 40; i++) {
        const row = { id: `msg_${String(Math.floor(random() * 1e6)).padStart(7, "0")}_${i}` };
        partitions[Math.floor(random() * 3)]?.push(row);
        all.push(row);
      }
      const expected = [...all].sort(byId).map(id);
      const limit = 1 + Math.floor(random() * 9);
      const seen: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        // What each partition's keyset query answers: its rows past the cursor, limit + 1.
        const answers = partitions.map((rows) =>
          rows
            .filter((r) => cursor === undefined || r.id < cursor)
            .sort(byId)
            .slice(0, limit + 1),
        );
        const rows = mergeOrdered(answers, byId, id, limit + 1);
        const page = rows.slice(0, limit);
        seen.push(...page.map(id));
        if (rows.length <= limit) {
          break;
        }
        cursor = page.at(-1)?.id;
      }
      expect(seen).toEqual(expected);
    }
  });

  it("keeps a row found on two partitions once, as the first (current) one has it", () => {
    const merged = mergeOrdered(
      [
        [{ id: "b", from: "current" }],
        [
          { id: "c", from: "old" },
          { id: "b", from: "old" },
        ],
      ],
      byId,
      id,
      10,
    );
    expect(merged).toEqual([
      { id: "c", from: "old" },
      { id: "b", from: "current" },
    ]);
  });
});

describe("sumByGroup", () => {
  it("adds the named columns of rows with one key and keeps the others from the first", () => {
    const rows = sumByGroup(
      [
        [
          { period: "d1", currency: "USD", messages: 2, cost: 10 },
          { period: "d2", currency: "USD", messages: 1, cost: 5 },
        ],
        [
          { period: "d1", currency: "USD", messages: 3, cost: 1 },
          { period: "d1", currency: "CNY", messages: 4, cost: 7 },
        ],
      ],
      (r) => `${r.period}/${r.currency}`,
      ["messages", "cost"],
    );
    expect(rows).toEqual([
      { period: "d1", currency: "USD", messages: 5, cost: 11 },
      { period: "d2", currency: "USD", messages: 1, cost: 5 },
      { period: "d1", currency: "CNY", messages: 4, cost: 7 },
    ]);
  });

  it("leaves the rows it was given unchanged", () => {
    const first = { k: "a", n: 1 };
    sumByGroup([[first], [{ k: "a", n: 2 }]], (r) => r.k, ["n"]);
    expect(first).toEqual({ k: "a", n: 1 });
  });
});
