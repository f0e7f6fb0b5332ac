import { describe, expect, it } from "vitest";
import type {
  AdapterIO,
  ProviderSettings,
  SmsSendRequest,
  UnansweredAttempt,
} from "../../src/channels/sms/adapter";
import { createAliyunAdapter } from "../../src/channels/sms/aliyun";
import { rpcSignature } from "../../src/channels/sms/aliyun-signature";
import { sandbox } from "../../src/channels/sms/sandbox";
import { tencent } from "../../src/channels/sms/tencent";
import { signTc3Request } from "../../src/channels/sms/tencent-signature";
import { twilio } from "../../src/channels/sms/twilio";

/** 2026-12-07T10:00:00Z; the unanswered attempt left a minute before. */
const NOW = Date.UTC(2026, 11, 7, 10, 0, 0);
const ATTEMPT: UnansweredAttempt = { attempt: 1, startedAt: NOW - 60_000 };

/** A fake provider: records each request, answers with `answer`. */
function fake(answer: (request: Request) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const io: AdapterIO = {
    fetch: async (request) => {
      requests.push(request);
      return answer(request);
    },
    now: () => NOW,
    waitUntil: () => {},
  };
  const theRequest = (): Request => {
    expect(requests).toHaveLength(1);
    const [request] = requests;
    if (!request) {
      throw new Error("no request was made");
    }
    return request;
  };
  return { io, requests, theRequest };
}

function lookupOf(adapter: { lookup?: unknown }) {
  if (typeof adapter.lookup !== "function") {
    throw new Error("the adapter has no lookup");
  }
  return adapter.lookup as (
    request: SmsSendRequest,
    attempt: UnansweredAttempt,
    settings: ProviderSettings,
    io: AdapterIO,
  ) => ReturnType<NonNullable<typeof twilio.lookup>>;
}

const redirect = () =>
  new Response(null, { status: 302, headers: { location: "https://elsewhere.test/" } });

describe("Twilio lookup (Messages list by To, matched on body and time)", () => {
  const request: SmsSendRequest = {
    messageId: "msg_01J9ZK3Q",
    to: "+15558675310",
    from: null,
    body: "Your code is 123456",
    attempt: 2,
    statusCallbackUrl: "https://relaybox.example/hooks/sms/twilio/hk_x/status",
    template: null,
    signName: null,
  };
  const settings: ProviderSettings = {
    config: { account_sid: "AC00000000000000000000000000000001", base_url: "https://twilio.test" },
    secrets: { auth_token: "f3c1d2e4a5b6978812345678abcdef90" },
  };
  const listed = (overrides: Record<string, unknown> = {}) => ({
    sid: "SM00000000000000000000000000000042",
    to: request.to,
    body: request.body,
    direction: "outbound-api",
    status: "queued",
    date_created: new Date(NOW - 30_000).toUTCString().replace("GMT", "+0000"),
    ...overrides,
  });
  const lookup = lookupOf(twilio);

  it("reads the account's Messages list filtered by To, with Basic auth, never a send", async () => {
    const carrier = fake(() => Response.json({ messages: [] }));
    await lookup(request, ATTEMPT, settings, carrier.io);
    const sent = carrier.theRequest();
    expect(sent.method).toBe("GET");
    const url = new URL(sent.url);
    expect(`${url.origin}${url.pathname}`).toBe(
      "https://twilio.test/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json",
    );
    expect(url.searchParams.get("To")).toBe("+15558675310");
    expect(url.searchParams.get("PageSize")).toBe("50");
    expect(sent.headers.get("authorization")).toBe(
      `Basic ${btoa("AC00000000000000000000000000000001:f3c1d2e4a5b6978812345678abcdef90")}`,
    );
  });

  it("finds the one outbound message with this body created since the attempt", async () => {
    const carrier = fake(() =>
      Response.json({
        messages: [listed({ sid: "SMother", body: "another text" }), listed()],
      }),
    );
    expect(await lookup(request, ATTEMPT, settings, carrier.io)).toEqual({
      kind: "found",
      providerMessageId: "SM00000000000000000000000000000042",
    });
  });

  it("says absent when no message matches: older, inbound or another text", async () => {
    const carrier = fake(() =>
      Response.json({
        messages: [
          listed({ body: "another text" }),
          listed({ direction: "inbound" }),
          listed({ date_created: new Date(NOW - 3_600_000).toUTCString() }),
        ],
      }),
    );
    expect(await lookup(request, ATTEMPT, settings, carrier.io)).toEqual({ kind: "absent" });
  });

  it("cannot tell between two matches, nor past a full first page", async () => {
    const two = fake(() => Response.json({ messages: [listed(), listed({ sid: "SM2" })] }));
    expect((await lookup(request, ATTEMPT, settings, two.io)).kind).toBe("cannot_tell");
    const full = fake(() =>
      Response.json({ messages: Array.from({ length: 50 }, () => listed({ body: "other" })) }),
    );
    expect((await lookup(request, ATTEMPT, settings, full.io)).kind).toBe("cannot_tell");
  });

  it("cannot tell on an error answer, an unreadable one, a redirect or no answer", async () => {
    const answers = [
      () => Response.json({ code: 20003, message: "Authenticate" }, { status: 401 }),
      () => new Response("<html>", { status: 200 }),
      redirect,
      () => Promise.reject(new TypeError("Network connection lost.")),
    ];
    for (const answer of answers) {
      const carrier = fake(answer);
      const outcome = await lookup(request, ATTEMPT, settings, carrier.io);
      expect(outcome.kind).toBe("cannot_tell");
      expect(carrier.requests).toHaveLength(1);
    }
  });
});

describe("Aliyun lookup (QuerySendDetails by OutId)", () => {
  const NONCE = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
  const adapter = createAliyunAdapter({ nonce: () => NONCE });
  const lookup = lookupOf(adapter);
  const request: SmsSendRequest = {
    messageId: "msg_01HZY3Q8K2W5T7V9X1B3D5F7H9",
    to: "+8613800138000",
    from: null,
    body: "【Relaybox】code 123456",
    attempt: 2,
    statusCallbackUrl: "https://relaybox.test/hooks/sms/aliyun/hk_token/status",
    template: { code: "SMS_15305", params: [{ name: "code", value: "123456" }] },
    signName: "Relaybox",
  };
  const settings: ProviderSettings = {
    config: { access_key_id: "LTAI5tTestKeyId", base_url: "https://dysms.test" },
    secrets: { access_key_secret: "testSecretValue" },
  };
  const details = (list: Record<string, unknown>[], total = list.length) =>
    Response.json({
      Code: "OK",
      Message: "OK",
      RequestId: "819BE656",
      TotalCount: String(total),
      SmsSendDetailDTOs: { SmsSendDetailDTO: list },
    });
  const detail = (overrides: Record<string, unknown> = {}) => ({
    PhoneNum: "13800138000",
    SendStatus: 1,
    TemplateCode: "SMS_15305",
    Content: "【Relaybox】code 123456",
    SendDate: "2026-12-07 17:59:30",
    OutId: request.messageId,
    ...overrides,
  });

  it("posts a signed QuerySendDetails for the number on the attempt's day in China", async () => {
    const carrier = fake(() => details([]));
    await lookup(request, ATTEMPT, settings, carrier.io);
    const sent = carrier.theRequest();
    expect(sent.method).toBe("POST");
    expect(sent.url).toBe("https://dysms.test/");
    const params = new URLSearchParams(new TextDecoder().decode(await sent.arrayBuffer()));
    const signature = params.get("Signature");
    params.delete("Signature");
    const unsigned = Object.fromEntries(params);
    expect(unsigned).toEqual({
      AccessKeyId: "LTAI5tTestKeyId",
      Action: "QuerySendDetails",
      CurrentPage: "1",
      Format: "JSON",
      PageSize: "50",
      PhoneNumber: "13800138000",
      RegionId: "cn-hangzhou",
      SendDate: "20261207",
      SignatureMethod: "HMAC-SHA1",
      SignatureNonce: NONCE,
      SignatureVersion: "1.0",
      Timestamp: "2026-12-07T10:00:00Z",
      Version: "2017-05-25",
    });
    expect(signature).toBe(await rpcSignature("POST", unsigned, "testSecretValue"));
  });

  it("asks for both days when the attempt was before midnight in China and now is after", async () => {
    const carrier = fake(() => details([]));
    // 16:00Z is midnight in China: the attempt on the 7th, now on the 8th.
    const io = { ...carrier.io, now: () => Date.UTC(2026, 11, 7, 16, 0, 30) };
    const attempt = { attempt: 1, startedAt: Date.UTC(2026, 11, 7, 15, 59, 0) };
    expect(await lookup(request, attempt, settings, io)).toEqual({ kind: "absent" });
    const days = await Promise.all(
      carrier.requests.map(async (r) =>
        new URLSearchParams(new TextDecoder().decode(await r.arrayBuffer())).get("SendDate"),
      ),
    );
    expect(days).toEqual(["20261207", "20261208"]);
  });

  it("finds the send with our OutId, and says absent when the day has none", async () => {
    const found = fake(() => details([detail({ OutId: "msg_other" }), detail()]));
    expect(await lookup(request, ATTEMPT, settings, found.io)).toEqual({
      kind: "found",
      providerMessageId: "outid:msg_01HZY3Q8K2W5T7V9X1B3D5F7H9:13800138000",
    });
    const absent = fake(() => details([detail({ OutId: "msg_other" })]));
    expect(await lookup(request, ATTEMPT, settings, absent.io)).toEqual({ kind: "absent" });
  });

  it("cannot tell past one page, beside a batch send of the template, or on an error", async () => {
    const more = fake(() => details([detail({ OutId: "msg_other" })], 120));
    expect((await lookup(request, ATTEMPT, settings, more.io)).kind).toBe("cannot_tell");
    const batch = fake(() => details([detail({ OutId: undefined })]));
    expect((await lookup(request, ATTEMPT, settings, batch.io)).kind).toBe("cannot_tell");
    const refused = fake(() =>
      Response.json({ Code: "isv.BUSINESS_LIMIT_CONTROL", Message: "limited" }),
    );
    expect(await lookup(request, ATTEMPT, settings, refused.io)).toEqual({
      kind: "cannot_tell",
      reason: "Aliyun's QuerySendDetails: isv.BUSINESS_LIMIT_CONTROL",
    });
    const moved = fake(redirect);
    expect((await lookup(request, ATTEMPT, settings, moved.io)).kind).toBe("cannot_tell");
  });
});

describe("Tencent lookup (PullSmsSendStatusByPhoneNumber by SessionContext)", () => {
  const settings: ProviderSettings = {
    config: {
      secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
      sms_sdk_app_id: "1400006666",
      base_url: "https://sms.tencent.test",
    },
    secrets: { secret_key: "Gu5t9xGARNpq86cd98joQYCN3*******" },
  };
  const request: SmsSendRequest = {
    messageId: "msg_01HTENCENT",
    to: "+8618511122266",
    from: null,
    body: "【腾讯云】Your code is 12345",
    attempt: 2,
    statusCallbackUrl: "https://relaybox.example/hooks/sms/tencent/hk_token/status",
    template: { code: "1234", params: [{ name: "code", value: "12345" }] },
    signName: "腾讯云",
  };
  const lookup = lookupOf(tencent);
  const statuses = (set: Record<string, unknown>[]) =>
    Response.json({ Response: { PullSmsSendStatusSet: set, RequestId: "a0aabda6" } });
  const status = (overrides: Record<string, unknown> = {}) => ({
    UserReceiveTime: NOW / 1000 - 20,
    CountryCode: "86",
    SubscriberNumber: "18511122266",
    PhoneNumber: request.to,
    SerialNo: "5000:1045710669157053657849499619",
    ReportStatus: "SUCCESS",
    Description: "DELIVRD",
    SessionContext: request.messageId,
    ...overrides,
  });

  it("posts a TC3-signed PullSmsSendStatusByPhoneNumber from before the attempt", async () => {
    const carrier = fake(() => statuses([]));
    await lookup(request, ATTEMPT, settings, carrier.io);
    const sent = carrier.theRequest();
    expect(sent.url).toBe("https://sms.tencent.test/");
    expect(sent.method).toBe("POST");
    expect(sent.headers.get("x-tc-action")).toBe("PullSmsSendStatusByPhoneNumber");
    expect(sent.headers.get("x-tc-version")).toBe("2021-01-11");
    expect(sent.headers.get("x-tc-timestamp")).toBe(String(NOW / 1000));
    const payload = await sent.text();
    expect(JSON.parse(payload)).toEqual({
      BeginTime: (ATTEMPT.startedAt - 120_000) / 1000,
      EndTime: (NOW + 120_000) / 1000,
      Offset: 0,
      Limit: 100,
      PhoneNumber: "+8618511122266",
      SmsSdkAppId: "1400006666",
    });
    const { authorization } = await signTc3Request({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3*******",
      service: "sms",
      timestamp: NOW / 1000,
      headers: { "content-type": "application/json; charset=utf-8", host: "sms.tencent.test" },
      payload,
    });
    expect(sent.headers.get("authorization")).toBe(authorization);
  });

  it("finds the status whose SessionContext is our message id", async () => {
    const carrier = fake(() =>
      statuses([status({ SessionContext: "msg_other", SerialNo: "5000:1" }), status()]),
    );
    expect(await lookup(request, ATTEMPT, settings, carrier.io)).toEqual({
      kind: "found",
      providerMessageId: "5000:1045710669157053657849499619",
    });
  });

  it("cannot tell when ours is not listed (Tencent lists only reported ones), nor on an error", async () => {
    const none = fake(() => statuses([status({ SessionContext: "msg_other" })]));
    expect((await lookup(request, ATTEMPT, settings, none.io)).kind).toBe("cannot_tell");
    const error = fake(() =>
      Response.json({
        Response: { Error: { Code: "AuthFailure.SignatureFailure", Message: "bad" } },
      }),
    );
    expect(await lookup(request, ATTEMPT, settings, error.io)).toEqual({
      kind: "cannot_tell",
      reason: "Tencent's status pull: AuthFailure.SignatureFailure",
    });
    const moved = fake(redirect);
    expect((await lookup(request, ATTEMPT, settings, moved.io)).kind).toBe("cannot_tell");
  });
});

describe("sandbox lookup", () => {
  const request: SmsSendRequest = {
    messageId: "msg_01SANDBOXLOOKUP000000000",
    to: "+8613800135555",
    from: null,
    body: "hello",
    attempt: 1,
    statusCallbackUrl: "https://relaybox.test/hooks/sms/sandbox/hk/status",
    template: null,
    signName: null,
  };
  const settings: ProviderSettings = { config: {}, secrets: {} };
  const lookup = lookupOf(sandbox);

  it("finds a send it took (in this isolate) under the id it gave, and cannot tell otherwise", async () => {
    const carrier = fake(() => new Response("{}"));
    expect((await lookup(request, ATTEMPT, settings, carrier.io)).kind).toBe("cannot_tell");
    const sent = await sandbox.send(request, settings, carrier.io);
    expect(sent.kind).toBe("sent");
    expect(await lookup({ ...request, attempt: 2 }, ATTEMPT, settings, carrier.io)).toEqual({
      kind: "found",
      providerMessageId: sent.kind === "sent" ? sent.providerMessageId : "",
    });
  });
});
