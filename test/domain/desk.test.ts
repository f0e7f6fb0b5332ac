import { describe, expect, it } from "vitest";
import {
  type AgentLoad,
  canMove,
  chooseAgent,
  DEFAULT_DESK_SETTINGS,
  type DeskSettings,
  decideAfterRobot,
  decideBeforeRobot,
  isWorkingTime,
  placeOfHandoff,
} from "../../src/domain/desk";

const on: DeskSettings = { ...DEFAULT_DESK_SETTINGS, enabled: true };

describe("working hours in the tenant's zone", () => {
  it("opens at 09:00 and closes at 18:00 Beijing time, whatever UTC says", () => {
    // Monday 2026-12-07 09:00 in Asia/Shanghai is 01:00 UTC.
    expect(isWorkingTime(on, Date.parse("2026-12-07T00:59:59Z"))).toBe(false);
    expect(isWorkingTime(on, Date.parse("2026-12-07T01:00:00Z"))).toBe(true);
    expect(isWorkingTime(on, Date.parse("2026-12-07T09:59:59Z"))).toBe(true);
    expect(isWorkingTime(on, Date.parse("2026-12-07T10:00:00Z"))).toBe(false);
  });

  it("reads the weekday in the zone: Saturday in Shanghai while it is still Friday in UTC", () => {
    const fridayLate: DeskSettings = {
      ...on,
      workingHours: { ...on.workingHours, fri: [{ start: "20:00", end: "24:00" }], sat: [] },
    };
    // Friday 2026-12-11 23:59 in Shanghai = 15:59 UTC; Saturday 00:00 there = Friday 16:00 UTC.
    expect(isWorkingTime(fridayLate, Date.parse("2026-12-11T15:59:00Z"))).toBe(true);
    expect(isWorkingTime(fridayLate, Date.parse("2026-12-11T16:00:00Z"))).toBe(false);
    const inLondon: DeskSettings = { ...fridayLate, timeZone: "Europe/London" };
    expect(isWorkingTime(inLondon, Date.parse("2026-12-11T16:00:00Z"))).toBe(false);
    expect(isWorkingTime(inLondon, Date.parse("2026-12-11T20:00:00Z"))).toBe(true);
  });

  it("sends a handoff at night to a left message with the after-hours answer", () => {
    const night = Date.parse("2026-12-07T15:00:00Z"); // 23:00 in Shanghai
    expect(placeOfHandoff(on, night, 3)).toEqual({
      state: "left_message",
      reason: "after_hours",
      answer: on.afterHoursAnswer,
    });
    const day = Date.parse("2026-12-07T03:00:00Z");
    expect(placeOfHandoff(on, day, 0)).toMatchObject({ state: "left_message", reason: "no_agent" });
    expect(placeOfHandoff(on, day, 1)).toEqual({ state: "queued" });
  });
});

describe("the precedence of an inbound message at the desk", () => {
  it("hands off on a keyword before the robot, and does nothing while the desk is off", () => {
    const said = (text: string) => decideBeforeRobot(on, "bot", { text, menuKey: null });
    expect(said("人工")).toEqual({ kind: "handoff" });
    expect(said(" Agent ")).toEqual({ kind: "handoff" });
    expect(said("我要人工服务")).toEqual({ kind: "none" });
    expect(
      decideBeforeRobot(DEFAULT_DESK_SETTINGS, "bot", { text: "人工", menuKey: null }),
    ).toEqual({ kind: "none" });
    const menu = { ...on, handoffMenuKeys: ["KF"] };
    expect(decideBeforeRobot(menu, "bot", { text: null, menuKey: "KF" })).toEqual({
      kind: "handoff",
    });
  });

  it("keeps the robot quiet while people have the conversation", () => {
    for (const state of ["queued", "assigned", "pending"] as const) {
      expect(decideBeforeRobot(on, state, { text: "hello", menuKey: null })).toEqual({
        kind: "to_people",
      });
    }
  });

  it("after the robot: its answer ends it, a digit after a resolution is a score, silence hands off", () => {
    expect(decideAfterRobot(on, "bot", { text: "price?", robotAnswered: true })).toEqual({
      kind: "none",
    });
    expect(decideAfterRobot(on, "bot", { text: "price?", robotAnswered: false })).toEqual({
      kind: "handoff",
    });
    const survey = { ...on, satisfactionSurvey: true };
    expect(decideAfterRobot(survey, "resolved", { text: "5", robotAnswered: false })).toEqual({
      kind: "satisfaction",
      score: 5,
    });
    // Not after a resolution, or with the survey off, a digit is an ordinary message.
    expect(decideAfterRobot(survey, "bot", { text: "5", robotAnswered: false }).kind).toBe(
      "handoff",
    );
    expect(decideAfterRobot(on, "resolved", { text: "5", robotAnswered: false }).kind).toBe(
      "handoff",
    );
    // An auto-reply for the digit comes first.
    expect(decideAfterRobot(survey, "resolved", { text: "5", robotAnswered: true }).kind).toBe(
      "none",
    );
  });

  it("allows only the moves of the state machine", () => {
    expect(canMove("bot", "queued")).toBe(true);
    expect(canMove("queued", "assigned")).toBe(true);
    expect(canMove("assigned", "pending")).toBe(true);
    expect(canMove("pending", "assigned")).toBe(true);
    expect(canMove("bot", "pending")).toBe(false);
    expect(canMove("resolved", "pending")).toBe(false);
    expect(canMove("left_message", "pending")).toBe(false);
  });
});

describe("choosing an agent", () => {
  const agent = (userId: string, over: Partial<AgentLoad> = {}): AgentLoad => ({
    userId,
    skills: ["billing"],
    capacity: 3,
    status: "online",
    load: 0,
    idleSince: 0,
    ...over,
  });

  it("takes the online agent with the skill and the most free slots, then the longest idle", () => {
    const agents = [
      agent("usr_a", { load: 2 }),
      agent("usr_b", { load: 1, idleSince: 50 }),
      agent("usr_c", { load: 1, idleSince: 10 }),
      agent("usr_d", { load: 0, status: "away" }),
      agent("usr_e", { load: 0, skills: ["tech"] }),
    ];
    expect(chooseAgent(agents, "billing")?.userId).toBe("usr_c");
    expect(chooseAgent(agents, null)?.userId).toBe("usr_e");
    expect(chooseAgent(agents, "tech")?.userId).toBe("usr_e");
    expect(chooseAgent([agent("usr_f", { load: 3 })], null)).toBeNull();
  });
});
