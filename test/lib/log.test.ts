import { describe, expect, it } from "vitest";
import { createLogger, type LogLevel } from "../../src/lib/log";
import { recordSendMetric } from "../../src/lib/send-metrics";

function capture(level?: string) {
  const lines: { level: LogLevel; entry: Record<string, unknown> }[] = [];
  const log = createLogger(level, { request_id: "req_1" }, (lineLevel, line) =>
    lines.push({ level: lineLevel, entry: JSON.parse(line) }),
  );
  return { log, lines };
}

describe("the logger", () => {
  it("writes one JSON line with the request, tenant and message ids", () => {
    const { log, lines } = capture("info");
    log
      .with({ tenant_id: "tnt_a" })
      .info("send attempt", { message_id: "msg_1", provider: "twilio" });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.entry).toMatchObject({
      level: "info",
      event: "send attempt",
      request_id: "req_1",
      tenant_id: "tnt_a",
      message_id: "msg_1",
      provider: "twilio",
    });
    expect(Date.parse(String(lines[0]?.entry.time))).not.toBeNaN();
  });

  it("never writes a secret, at any level, and cuts hook tokens out of strings", () => {
    const { log, lines } = capture("debug");
    log.debug("x", {
      secret: "whsec_1",
      api_key: "rbx_live_abc",
      authorization: "Bearer rbx_live_abc",
      nested: { app_secret: "s", password: "p", MASTER_KEY: "k" },
      path: "/hooks/sms/twilio/tok_abcdefghijklmnop/status",
    });
    const text = JSON.stringify(lines);
    for (const leaked of ["whsec_1", "rbx_live_abc", '"s"', '"p"', '"k"', "tok_abcdefghijklmnop"]) {
      expect(text).not.toContain(leaked);
    }
    expect(lines[0]?.entry.path).toBe("/hooks/sms/twilio/[redacted]/status");
  });

  it("keeps message bodies out of info lines, and in debug ones", () => {
    const info = capture("info");
    info.log.info("inbound", { body: "my code is 123456", text: "hello", message_id: "msg_1" });
    expect(JSON.stringify(info.lines)).not.toContain("123456");
    expect(JSON.stringify(info.lines)).not.toContain("hello");
    const debug = capture("debug");
    debug.log.debug("inbound", { body: "my code is 123456" });
    expect(debug.lines[0]?.entry.body).toBe("my code is 123456");
  });

  it("drops lines under LOG_LEVEL", () => {
    const { log, lines } = capture("warn");
    log.debug("a");
    log.info("b");
    log.warn("c");
    log.error("d", { error: new Error("boom") });
    expect(lines.map((l) => [l.level, l.entry.event])).toEqual([
      ["warn", "c"],
      ["error", "d"],
    ]);
    expect(lines[1]?.entry.error).toEqual({ name: "Error", message: "boom" });
  });
});

describe("send metrics", () => {
  it("writes one Analytics Engine data point per attempt, indexed by provider", () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset = {
      writeDataPoint: (point?: AnalyticsEngineDataPoint) => point && points.push(point),
    };
    recordSendMetric(dataset, {
      provider: "aliyun",
      outcome: "sent",
      tenantId: "tnt_a",
      latencyMs: 120,
    });
    expect(points).toEqual([
      { indexes: ["aliyun"], blobs: ["aliyun", "sent", "tnt_a"], doubles: [120, 1] },
    ]);
  });

  it("does nothing without the binding, and never throws", () => {
    expect(() =>
      recordSendMetric(undefined, { provider: "x", outcome: "sent", tenantId: "t", latencyMs: 1 }),
    ).not.toThrow();
    const failing = {
      writeDataPoint: () => {
        throw new Error("down");
      },
    };
    expect(() =>
      recordSendMetric(failing, { provider: "x", outcome: "sent", tenantId: "t", latencyMs: 1 }),
    ).not.toThrow();
  });
});
