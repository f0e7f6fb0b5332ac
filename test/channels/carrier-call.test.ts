import { describe, expect, it } from "vitest";
import {
  callCarrier,
  carrierTimeout,
  DEFAULT_TIMEOUT_MS,
} from "../../src/channels/sms/carrier-call";

const URL = "https://carrier.example/send";
const INIT: RequestInit = {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: '{"to":"+15558675310"}',
};

/** A fake carrier: records each request and answers with `respond(request)`. */
function fakeCarrier(respond: (request: Request) => Promise<Response>) {
  const requests: Request[] = [];
  return {
    requests,
    io: {
      fetch: (request: Request) => {
        requests.push(request);
        return respond(request);
      },
    },
  };
}

/** A body whose first chunk never comes: the headers arrived, the rest did not. */
const stalledBody = () =>
  new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined) });

describe("callCarrier", () => {
  it("gives a 2xx answer with its whole body, having sent the request as given", async () => {
    const carrier = fakeCarrier(() =>
      Promise.resolve(Response.json({ sid: "SM1" }, { status: 201 })),
    );
    const call = await callCarrier("Twilio", carrier.io, URL, INIT, 1_000);
    expect(call.kind === "answer" && [call.response.status, call.text]).toEqual([
      201,
      '{"sid":"SM1"}',
    ]);
    const [sent] = carrier.requests;
    expect(sent?.url).toBe(URL);
    expect(sent?.method).toBe("POST");
    expect(sent?.headers.get("content-type")).toBe("application/json");
    expect(await sent?.text()).toBe('{"to":"+15558675310"}');
    expect(sent?.redirect).toBe("manual");
  });

  it.each([
    [400, '{"code":21211}'],
    [404, "<html>nope</html>"],
    [429, ""],
    [500, "oops"],
    [503, '{"Code":"ServiceUnavailable"}'],
  ])("gives a %i answer to the adapter to read, body and all", async (status, body) => {
    const carrier = fakeCarrier(() => Promise.resolve(new Response(body, { status })));
    const call = await callCarrier("Aliyun", carrier.io, URL, INIT, 1_000);
    expect(call).toMatchObject({ kind: "answer", text: body });
    expect(call.kind === "answer" && call.response.status).toBe(status);
  });

  it.each([301, 302, 307, 308])(
    "refuses a %i for good, naming where it pointed without its query",
    async (status) => {
      const carrier = fakeCarrier(() =>
        Promise.resolve(
          new Response(null, {
            status,
            headers: { location: "https://elsewhere.example/grab?token=secret" },
          }),
        ),
      );
      expect(await callCarrier("Tencent", carrier.io, URL, INIT, 1_000)).toEqual({
        kind: "failed",
        retryable: false,
        code: "redirected",
        reason: `Tencent answered with a redirect (HTTP ${status} to https://elsewhere.example/grab), which is not followed`,
      });
    },
  );

  it("is unknown, and aborts the request, when nothing comes back within the time-out", async () => {
    const carrier = fakeCarrier(() => new Promise<Response>(() => undefined));
    expect(await callCarrier("Twilio", carrier.io, URL, INIT, 20)).toEqual({
      kind: "unknown",
      reason: "no answer from Twilio within 20 ms",
    });
    expect(carrier.requests[0]?.signal.aborted).toBe(true);
  });

  it("calls it a time-out, not a failure, when the fetch gives up on the abort", async () => {
    const carrier = fakeCarrier(
      (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener("abort", () => reject(request.signal.reason));
        }),
    );
    expect(await callCarrier("Aliyun", carrier.io, URL, INIT, 20)).toEqual({
      kind: "unknown",
      reason: "no answer from Aliyun within 20 ms",
    });
  });

  it("is unknown, and aborts, when the headers came but the body stalls past the time-out", async () => {
    const carrier = fakeCarrier(() =>
      Promise.resolve(new Response(stalledBody(), { status: 200 })),
    );
    expect(await callCarrier("Tencent", carrier.io, URL, INIT, 20)).toEqual({
      kind: "unknown",
      reason: "no answer from Tencent within 20 ms",
    });
    expect(carrier.requests[0]?.signal.aborted).toBe(true);
  });

  it("is unknown when the connection fails, since the request may have reached the carrier", async () => {
    const carrier = fakeCarrier(() => Promise.reject(new TypeError("Network connection lost.")));
    expect(await callCarrier("Twilio", carrier.io, URL, INIT, 1_000)).toEqual({
      kind: "unknown",
      reason: "the request to Twilio failed: TypeError: Network connection lost.",
    });
  });

  it("is unknown when the body breaks off while it is read", async () => {
    const broken = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"sid":'));
        controller.error(new TypeError("Network connection lost."));
      },
    });
    const carrier = fakeCarrier(() => Promise.resolve(new Response(broken, { status: 201 })));
    const call = await callCarrier("Twilio", carrier.io, URL, INIT, 1_000);
    expect(call).toMatchObject({ kind: "unknown" });
    expect(call.kind === "unknown" && call.reason).toContain("Network connection lost.");
  });

  it("stops its timer once answered: the request is not aborted afterwards", async () => {
    const carrier = fakeCarrier(() => Promise.resolve(new Response("{}", { status: 200 })));
    expect(await callCarrier("Aliyun", carrier.io, URL, INIT, 20)).toMatchObject({
      kind: "answer",
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(carrier.requests[0]?.signal.aborted).toBe(false);
  });
});

describe("carrierTimeout", () => {
  const timeoutOf = (timeout_ms?: string | number | boolean) =>
    carrierTimeout({ config: timeout_ms === undefined ? {} : { timeout_ms }, secrets: {} });

  it("takes timeout_ms as a number, or a string holding one", () => {
    expect(timeoutOf(5_000)).toBe(5_000);
    expect(timeoutOf("2500")).toBe(2_500);
  });

  it.each([
    ["missing", undefined],
    ["zero", 0],
    ["negative", -1],
    ["not a number", "soon"],
    ["a boolean", true],
  ])("falls back to the default when it is %s", (_, value) => {
    expect(timeoutOf(value)).toBe(DEFAULT_TIMEOUT_MS);
  });
});
