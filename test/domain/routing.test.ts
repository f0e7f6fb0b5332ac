import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/domain/circuit-breaker";
import { isDestination, nextProvider, providerOrder, ruleFor } from "../../src/domain/routing";

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

  it("starts with the first, fails over to the next after a retryable failure, then wraps", () => {
    expect(nextProvider(["a", "b"], null, all)).toEqual({ provider: "a", wrapped: false });
    expect(nextProvider(["a", "b"], { provider: "a", outcome: "retryable" }, all)).toEqual({
      provider: "b",
      wrapped: false,
    });
    expect(nextProvider(["a", "b"], { provider: "b", outcome: "retryable" }, all)).toEqual({
      provider: "a",
      wrapped: true,
    });
  });

  it("after an unknown outcome tries the same provider again and never another", () => {
    expect(nextProvider(["a", "b"], { provider: "a", outcome: "unknown" }, all)).toEqual({
      provider: "a",
      wrapped: false,
    });
    const waiting = nextProvider(
      ["a", "b"],
      { provider: "a", outcome: "unknown" },
      (p) => p !== "a",
    );
    expect(waiting.provider).toBeNull();
  });

  it("skips a provider whose circuit is open", () => {
    expect(nextProvider(["a", "b"], null, (p) => p !== "a")).toEqual({
      provider: "b",
      wrapped: false,
    });
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
      expect(breaker.allow(i)).toBe(true);
      breaker.record(false, i);
    }
    expect(breaker.state(10)).toBe("open");
    expect(breaker.allow(10)).toBe(false);
    expect(breaker.state(1_100)).toBe("half-open");
    expect(breaker.allow(1_100)).toBe(true);
    expect(breaker.allow(1_101)).toBe(false);
    breaker.record(true, 1_150);
    expect(breaker.state(1_150)).toBe("closed");
  });

  it("opens again when the probe fails", () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 3; i++) {
      breaker.record(false, i);
    }
    expect(breaker.allow(1_100)).toBe(true);
    breaker.record(false, 1_100);
    expect(breaker.state(1_200)).toBe("open");
  });

  it("opens on a failure rate over the window without a run of failures", () => {
    const breaker = new CircuitBreaker(options);
    for (let i = 0; i < 10; i++) {
      breaker.record(i % 2 === 0, i * 10);
    }
    expect(breaker.state(100)).toBe("open");
    const healthy = new CircuitBreaker(options);
    for (let i = 0; i < 10; i++) {
      healthy.record(i % 3 !== 0, i * 10);
    }
    expect(healthy.state(100)).toBe("closed");
  });
});
