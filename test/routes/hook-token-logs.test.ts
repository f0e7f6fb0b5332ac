import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { sandbox } from "../../src/channels/sms/sandbox";
import worker from "../../src/index";
import { randomToken } from "../../src/lib/crypto";

/** Every line the Worker writes to the console while `work` runs, each argument as text. */
async function consoleDuring(work: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(
        args
          .map((arg) => (arg instanceof Error ? `${arg.stack ?? arg.message}` : String(arg)))
          .join(" "),
      );
    });
  }
  await work();
  return lines;
}

/** The env with a D1 that fails every query, as an outage or a bug on our side would. */
function brokenD1Env(): Env {
  const DB = new Proxy(env.DB, {
    get(target, prop) {
      if (prop === "prepare" || prop === "batch") {
        return () => {
          throw new Error("D1_ERROR: simulated failure");
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...env, DB };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("our own log lines", () => {
  it("name a hook whose handling failed without its token", async () => {
    const token = randomToken(32);
    const path = `/hooks/sms/twilio/${token}/status`;
    const ctx = createExecutionContext();

    const lines = await consoleDuring(async () => {
      const res = await worker.fetch(
        new Request<unknown, IncomingRequestCfProperties>(`http://127.0.0.1:8787${path}`, {
          method: "POST",
          body: "",
        }),
        brokenD1Env(),
        ctx,
      );
      expect(res.status).toBe(500);
      await waitOnExecutionContext(ctx);
    });

    expect(lines.join("\n")).toContain("/hooks/sms/twilio/[redacted]/status");
    expect(lines.join("\n")).not.toContain(token);
  });

  it("say the sandbox's receipts were refused without the hook's token", async () => {
    const token = randomToken(32);
    const ctx = createExecutionContext();
    const work: Promise<unknown>[] = [];
    const io = {
      fetch: async (request: Request) =>
        worker.fetch(new Request<unknown, IncomingRequestCfProperties>(request), env, ctx),
      now: () => Date.now(),
      waitUntil: (promise: Promise<unknown>) => work.push(promise),
    };

    const lines = await consoleDuring(async () => {
      const outcome = await sandbox.send(
        {
          messageId: `msg_${"7".repeat(26)}`,
          to: "+8613800138123",
          from: null,
          body: "hello",
          attempt: 1,
          // A token that was rotated since: the hook answers 404.
          statusCallbackUrl: `http://127.0.0.1:8787/hooks/sms/sandbox/${token}/status`,
          template: null,
          signName: null,
        },
        { config: {}, secrets: {} },
        io,
      );
      expect(outcome.kind).toBe("sent");
      await Promise.all(work);
    });

    expect(lines.join("\n")).toMatch(/sandbox receipts were refused/);
    expect(lines.join("\n")).not.toContain(token);
  });
});
