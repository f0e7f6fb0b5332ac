import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/domain/circuit-breaker";
import {
  isDestination,
  lastAttemptOf,
  nextProvider,
  providerOrder,
  ruleFor,
} from "../../src/domain/routing";

const rules = [
  { destination: "CN", providers: [{ provider: "aliyun", priority: 1, weight: 1 }] },
  { destination: "+8613", providers: [{ provider: "tencent", priority: 1, weight: 1 }] },
  { destination: "+861", providers: [{ provider: "twilio", priority: 1, weight: 1 }] },
];

describe("routing rules", () => {
  it("takes the longest matching prefix, else the country, else nothing", () => {
    expect(ruleFor(rules, "+8613800138000", "CN")?.destination).toBe("+8613");
    expect(ruleFor(rules, "+8615800138000", "CN")?.destination).toBe("+861");
    expect(ruleFor(rules, "+8657112345678", "CN")?.destination).toBe("CN");
    expect(ruleFor(rules, "+14155550100", "US")).toBeNull();
  });

  it("accepts countries and E.164 prefixes as destinations", () => {
    expect(["CN", "+86", "+8613"].every(isDestination)).toBe(true);
    expect(["cn", "86", "+", "CHN", "+86a"].some(isDestination)).toBe(false);
  });

  it("orders by priority, and splits first attempts by weight, the same for one message every time", () => {
    const rule = {
      destination: "CN",
      providers: [
        { provider: "c", priority: 2, weight: 1 },
        { provider: "a", priority: 1, weight: 3 },
        { provider: "b", priority: 1, weight: 1 },
      ],
    };
    const firsts = { a: 0, b: 0 };
    for (let i = 0; i < 4000; i++) {
      const order = providerOrder(rule, `msg_${i}`);
      expect(order).toHaveLength(3);
      expect(order[2]).toBe("c");
      expect(providerOrder(rule, `msg_${i}`)).toEqual(order);
      firsts[order[0] as "a" | "b"] += 1;
    }
    expect(firsts.a / 4000).toBeGreaterThan(0.7);
    expect(firsts.a / 4000).toBeLessThan(0.8);
  });
});

describe("choosing the next provider", () => {
  const all = () => true;

  it("starts with the first, fails over to the next after a retryable failure, then starts over", () => {
    expect(nextProvider(["a", "b"], null, all)).toEqual({ provider: "a" });
    expect(nextProvider(["a", "b"], { provider: "a", outcome: "retryable" }, all)).toEqual({
      provider: "b",
    });
    expect(nextProvider(["a", "b"], { provider: "b", outcome: "retryable" }, all)).toEqual({
      provider: "a",
    });
  });

  it("after an unknown outcome tries the same provider again and never another", () => {
    expect(nextProvider(["a", "b"], { provider: "a", outcome: "unknown" }, all)).toEqual({
      provider: "a",
    });
    const waiting = nextProvider(
      ["a", "b"],
      { provider: "a", outcome: "unknown" },
      (p) => p !== "a",
    );
    expect(waiting).toMatchObject({ provider: null, permanent: false });
    // Removed from the route since: the message ends rather than go to another provider.
    expect(nextProvider(["b"], { provider: "a", outcome: "unknown" }, () => true)).toMatchObject({
      provider: null,
      permanent: true,
    });
  });

  it("remembers a provider that gave no answer over every later attempt", () => {
    expect(lastAttemptOf([])).toBeNull();
    expect(
      lastAttemptOf([
        { attempt: 2, provider: "b", outcome: "retryable" },
        { attempt: 1, provider: "a", outcome: "retryable" },
      ]),
    ).toEqual({ provider: "b", outcome: "retryable" });
    expect(
      lastAttemptOf([
        { attempt: 1, provider: "a", outcome: "unknown" },
        { attempt: 2, provider: "a", outcome: "retryable" },
        { attempt: 3, provider: "a", outcome: "permanent" },
      ]),
    ).toEqual({ provider: "a", outcome: "unknown" });
  });

  it("skips a provider whose circuit is open", () => {
    expect(nextProvider(["a", "b"], null, (p) => p !== "a")).toEqual({ provider: "b" });
    expect(nextProvider(["a", "b"], null, () => false).provider).toBeNull();
    expect(nextProvider([], null, all).provider).toBeNull();
  });
});

describe("circuit breaker", () => {
  const options = {
    consecutiveFailures: 3,
    failureRate: 0.5,
    minRequests: 10,
    windowMs: 10_000,
    openMs: 1_000,
  };

  it("opens after consecutive failures, lets one probe through when half-open, and closes on success", () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 3; i++) {
      const ticket = breaker.allow(i);
      expect(ticket).toEqual({ startedAt: i, probe: false });
      breaker.record(ticket ?? { startedAt: i, probe: false }, false, i);
    }
    expect(breaker.state(10)).toBe("open");
    expect(breaker.allow(10)).toBeNull();
    expect(breaker.state(1_100)).toBe("half-open");
    const probe = breaker.allow(1_100);
    expect(probe).toEqual({ startedAt: 1_100, probe: true });
    expect(breaker.allow(1_101)).toBeNull();
    breaker.record({ startedAt: 1_100, probe: true }, true, 1_150);
    expect(breaker.state(1_150)).toBe("closed");
  });

  it("opens again when the probe fails", () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 3; i++) {
      breaker.record({ startedAt: i, probe: false }, false, i);
    }
    const probe = breaker.allow(1_100);
    expect(probe?.probe).toBe(true);
    breaker.record({ startedAt: 1_100, probe: true }, false, 1_100);
    expect(breaker.state(1_200)).toBe("open");
  });

  it("does not let results of calls in flight when it opened keep it open or reopen it", () => {
    const breaker = new CircuitBreaker(options);
    const late = breaker.allow(0);
    for (let i = 1; i <= 3; i++) {
      breaker.record({ startedAt: i, probe: false }, false, i);
    }
    expect(breaker.state(500)).toBe("open");
    // A call that started before the breaker opened fails late: the open period is not extended.
    breaker.record(late ?? { startedAt: 0, probe: false }, false, 900);
    expect(breaker.state(1_003)).toBe("half-open");
    const probe = breaker.allow(1_003);
    // Another late failure while the probe is out does not decide anything.
    breaker.record({ startedAt: 2, probe: false }, false, 1_004);
    expect(breaker.state(1_005)).toBe("half-open");
    breaker.record(probe ?? { startedAt: 1_003, probe: true }, true, 1_010);
    expect(breaker.state(1_010)).toBe("closed");
  });

  it("opens on a failure rate over the window without a run of failures", () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 10; i++) {
      breaker.record({ startedAt: i * 10, probe: false }, i % 2 === 0, i * 10);
    }
    expect(breaker.state(100)).toBe("open");
    const healthy = new CircuitBreaker(options);
    for (let i = 0; i < 10; i++) {
      healthy.record({ startedAt: i * 10, probe: false }, i % 3 !== 0, i * 10);
    }
    expect(healthy.state(100)).toBe("closed");
  });

  it("judges the failure rate by the calls of the last window only", () => {
    const breaker = new CircuitBreaker(options);
    // Four failures in six, never three in a row, then ten seconds later two in four: the window
    // holds only the four, too few to judge; all ten together would open it.
    [false, false, true, false, false, true].forEach((ok, i) => {
      breaker.record({ startedAt: i, probe: false }, ok, i);
    });
    [false, true, false, true].forEach((ok, i) => {
      breaker.record({ startedAt: 20_000 + i, probe: false }, ok, 20_000 + i);
    });
    expect(breaker.state(20_004)).toBe("closed");
  });

  it("keeps judging by the window over many thousands of calls", () => {
    const breaker = new CircuitBreaker(options);
    // A call every millisecond for a minute, one in three failing: never open.
    for (let i = 0; i < 60_000; i++) {
      breaker.record({ startedAt: i, probe: false }, i % 3 !== 0, i);
    }
    expect(breaker.state(60_000)).toBe("closed");
    // Then two in three failing, never three in a row: it opens once they are half the window.
    let openedAt: number | undefined;
    for (let i = 60_000; i < 75_000 && openedAt === undefined; i++) {
      breaker.record({ startedAt: i, probe: false }, i % 3 === 0, i);
      openedAt = breaker.state(i) === "open" ? i : undefined;
    }
    expect(openedAt).toBeGreaterThan(64_900);
    expect(openedAt).toBeLessThan(65_100);
  });
});
