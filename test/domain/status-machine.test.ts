import { describe, expect, it } from "vitest";
import {
  FINAL_STATUSES,
  guardFor,
  isFinal,
  mayMove,
  sourcesOf,
  TRANSITIONS,
} from "../../src/domain/status-machine";
import { MESSAGE_STATUSES, type MessageStatus } from "../../src/domain/vocabulary";

/** DESIGN.md's order: scheduled → queued → sending → sent → one of the final statuses. */
const STEP: Record<MessageStatus, number> = {
  scheduled: 0,
  queued: 1,
  sending: 2,
  sent: 3,
  delivered: 4,
  undelivered: 4,
  failed: 4,
  canceled: 4,
  expired: 4,
};

const pairs = MESSAGE_STATUSES.flatMap((from) => MESSAGE_STATUSES.map((to) => [from, to] as const));

describe("the message status machine", () => {
  it("only moves forward: no move goes back, sideways, or stays put", () => {
    for (const [from, to] of pairs) {
      if (mayMove(from, to)) {
        expect(STEP[to], `${from} → ${to}`).toBeGreaterThan(STEP[from]);
      }
    }
  });

  it("never moves a message out of a final status", () => {
    for (const status of FINAL_STATUSES) {
      expect(TRANSITIONS[status]).toEqual([]);
      expect(isFinal(status)).toBe(true);
    }
    expect(MESSAGE_STATUSES.filter(isFinal)).toEqual([...FINAL_STATUSES]);
  });

  it("allows exactly the moves the send path makes", () => {
    const moves = pairs.filter(([from, to]) => mayMove(from, to)).map((p) => p.join(" → "));
    expect(moves).toEqual([
      "scheduled → queued",
      "scheduled → sending",
      "scheduled → failed",
      "scheduled → canceled",
      "queued → sending",
      "queued → delivered",
      "queued → undelivered",
      "queued → failed",
      "queued → canceled",
      "sending → sent",
      "sending → delivered",
      "sending → undelivered",
      "sending → failed",
      "sent → delivered",
      "sent → undelivered",
      "sent → failed",
      "sent → expired",
    ]);
  });

  it("cancels only what no consumer has taken, and expires only what was sent", () => {
    expect(sourcesOf("canceled")).toEqual(["scheduled", "queued"]);
    expect(sourcesOf("expired")).toEqual(["sent"]);
    expect(sourcesOf("sending")).toEqual(["scheduled", "queued"]);
    expect(sourcesOf("sent")).toEqual(["sending"]);
    expect(sourcesOf("scheduled")).toEqual([]);
  });

  it("derives a write's guard from the table, and refuses one that would widen it", () => {
    expect(guardFor("delivered")).toEqual(["queued", "sending", "sent"]);
    expect(guardFor("failed", ["scheduled", "queued", "sending"])).toEqual([
      "scheduled",
      "queued",
      "sending",
    ]);
    expect(() => guardFor("sending", ["sent"])).toThrow(/no move from sent to sending/);
    expect(() => guardFor("queued", ["delivered"])).toThrow(/no move from delivered to queued/);
  });
});
