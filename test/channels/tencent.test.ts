import { describe, expect, it } from "vitest";
import {
  type AdapterIO,
  type ProviderSettings,
  ReceiptFormatError,
  type SmsSendRequest,
} from "../../src/channels/sms/adapter";
import { tencent } from "../../src/channels/sms/tencent";
import { signTc3Request } from "../../src/channels/sms/tencent-signature";

// Tencent's demo credentials and the time of its signature example (2019-02-25 in UTC).
const SETTINGS: ProviderSettings = {
  config: { secret_id: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", sms_sdk_app_id: "1400006666" },
  secrets: { secret_key: "Gu5t9xGARNpq86cd98joQYCN3*******" },
};
const NOW_MS = 1551113065_000;

const REQUEST: SmsSendRequest = {
  messageId: "msg_01HTENCENT",
  to: "+8618511122266",
  from: null,
  body: "【腾讯云】Your code is 12345, valid for 5 minutes.",
  attempt: 1,
  statusCallbackUrl: "https://relaybox.example/hooks/sms/tencent/hk_token/status",
  template: {
    code: "1234",
    params: [
      { name: "code", value: "12345" },
      { name: "minutes", value: "5" },
    ],
  },
  signName: "腾讯云",
};

/** A fake carrier: records each request and answers with the given response. */
function carrier(answer: () => Response | Promise<Response>) {
  const requests: Request[] = [];
  const io: AdapterIO = {
    fetch: async (request) => {
      requests.push(request);
      return answer();
    },
    now: () => NOW_MS,
    waitUntil: () => {},
  };
  return { io, requests };
}

function tencentAnswer(response: object, status = 200): Response {
  return Response.json({ Response: { ...response, RequestId: "a0aabda6-cf91-4f3e" } }, { status });
}

function sendStatus(code: string, message: string): Response {
  return tencentAnswer({
    SendStatusSet: [
      {
        SerialNo: code === "Ok" ? "5000:1045710669157053657849499619" : "",
        PhoneNumber: "+8618511122266",
        Fee: code === "Ok" ? 1 : 0,
        SessionContext: "msg_01HTENCENT",
        Code: code,
        Message: message,
        IsoCode: "CN",
      },
    ],
  });
}

function requestError(code: string, message: string): Response {
  return tencentAnswer({ Error: { Code: code, Message: message } });
}

describe("tencent send", () => {
  it("sends only approved templates and lets Tencent add the signature", () => {
    expect(tencent.sendsFreeText).toBe(false);
    expect(tencent.addsSignature).toBe(true);
  });

  it("posts the exact SendSms request, signed for the fixed time", async () => {
    const { io, requests } = carrier(() => sendStatus("Ok", "send success"));

    await tencent.send(REQUEST, SETTINGS, io);

    expect(requests).toHaveLength(1);
    const [sent] = requests;
    expect(sent?.url).toBe("https://sms.tencentcloudapi.com/");
    expect(sent?.method).toBe("POST");
    expect(Object.fromEntries(sent?.headers ?? [])).toEqual({
      // The value Tencent's own SMS demo (signature-process-demo, sms/signature-v3/nodejs)
      // computes for this body, host and timestamp.
      authorization:
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/sms/tc3_request, SignedHeaders=content-type;host, Signature=7c7e6a322380497894b594b4ba548321b0a8ce3c9d7c263428f398c17aa4c893",
      "content-type": "application/json; charset=utf-8",
      "x-tc-action": "SendSms",
      "x-tc-version": "2021-01-11",
      "x-tc-timestamp": "1551113065",
      "x-tc-region": "ap-guangzhou",
    });
    expect(await sent?.text()).toBe(
      '{"PhoneNumberSet":["+8618511122266"],"SmsSdkAppId":"1400006666","SignName":"腾讯云","TemplateId":"1234","TemplateParamSet":["12345","5"],"SessionContext":"msg_01HTENCENT"}',
    );
  });

  it("takes base_url, region, timeout, sender id and extend code from the settings and signs base_url's host", async () => {
    const { io, requests } = carrier(() => sendStatus("Ok", "send success"));
    const settings: ProviderSettings = {
      config: {
        ...SETTINGS.config,
        sms_sdk_app_id: 1400006666,
        base_url: "http://127.0.0.1:8788/tencent",
        region: "ap-singapore",
        sender_id: "Relaybox",
        extend_code: "10",
        timeout_ms: 5000,
      },
      secrets: SETTINGS.secrets,
    };

    const outcome = await tencent.send({ ...REQUEST, to: "+6591234567" }, settings, io);

    expect(outcome.kind).toBe("sent");
    const [sent] = requests;
    expect(sent?.url).toBe("http://127.0.0.1:8788/tencent");
    expect(sent?.headers.get("x-tc-region")).toBe("ap-singapore");
    const body = (await sent?.text()) ?? "";
    expect(JSON.parse(body)).toMatchObject({
      PhoneNumberSet: ["+6591234567"],
      SmsSdkAppId: "1400006666",
      SenderId: "Relaybox",
      ExtendCode: "10",
    });
    const expected = await signTc3Request({
      secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
      secretKey: "Gu5t9xGARNpq86cd98joQYCN3*******",
      service: "sms",
      timestamp: 1551113065,
      headers: { "content-type": "application/json; charset=utf-8", host: "127.0.0.1:8788" },
      payload: body,
    });
    expect(sent?.headers.get("authorization")).toBe(expected.authorization);
  });

  it("falls back to config sign_name when the request carries no signature name", async () => {
    const { io, requests } = carrier(() => sendStatus("Ok", "send success"));
    const settings = { ...SETTINGS, config: { ...SETTINGS.config, sign_name: "Relaybox" } };

    await tencent.send({ ...REQUEST, signName: null }, settings, io);

    expect(JSON.parse((await requests[0]?.text()) ?? "{}")).toMatchObject({ SignName: "Relaybox" });
  });

  it("reports a sent message with Tencent's SerialNo as the provider message id", async () => {
    const { io } = carrier(() => sendStatus("Ok", "send success"));

    expect(await tencent.send(REQUEST, SETTINGS, io)).toEqual({
      kind: "sent",
      providerMessageId: "5000:1045710669157053657849499619",
    });
  });

  it.each([
    ["LimitExceeded.DeliveryFrequencyLimit", true],
    ["LimitExceeded.PhoneNumberThirtySecondLimit", true],
    ["InternalError.Timeout", true],
    ["LimitExceeded.PhoneNumberDailyLimit", false],
    ["LimitExceeded.PhoneNumberOneHourLimit", false],
    ["FailedOperation.TemplateIncorrectOrUnapproved", false],
    ["FailedOperation.SignatureIncorrectOrUnapproved", false],
    ["FailedOperation.InsufficientBalanceInSmsPackage", false],
    ["FailedOperation.PhoneNumberInBlacklist", false],
    ["InvalidParameterValue.IncorrectPhoneNumber", false],
    ["UnauthorizedOperation.SmsSdkAppIdVerifyFail", false],
  ])(
    "maps the number's send status %s to retryable %s, with a readable reason",
    async (code, retryable) => {
      const { io } = carrier(() => sendStatus(code, "Tencent's own words"));

      const outcome = await tencent.send(REQUEST, SETTINGS, io);

      expect(outcome).toMatchObject({ kind: "failed", code, retryable });
      expect(outcome.kind === "failed" && outcome.reason).toMatch(/^[a-zA-Z].{15,}/);
      expect(outcome.kind === "failed" && outcome.reason).not.toBe("Tencent's own words");
    },
  );

  it.each([
    ["AuthFailure.SignatureFailure", false],
    ["AuthFailure.SecretIdNotFound", false],
    ["RequestLimitExceeded", true],
    ["RequestLimitExceeded.UinLimitExceeded", true],
    ["InternalError", true],
    ["FailedOperation.SignatureIncorrectOrUnapproved", false],
  ])("maps the request-level error %s to retryable %s", async (code, retryable) => {
    const { io } = carrier(() => requestError(code, "the provided credentials are wrong"));

    expect(await tencent.send(REQUEST, SETTINGS, io)).toMatchObject({
      kind: "failed",
      code,
      retryable,
    });
  });

  it("judges an undocumented code by its category and keeps Tencent's message as the reason", async () => {
    const internal = carrier(() => requestError("InternalError.NewThing", "backend hiccup"));
    const other = carrier(() => sendStatus("FailedOperation.NewRule", "refused by a new rule"));

    expect(await tencent.send(REQUEST, SETTINGS, internal.io)).toEqual({
      kind: "failed",
      code: "InternalError.NewThing",
      retryable: true,
      reason: "backend hiccup",
    });
    expect(await tencent.send(REQUEST, SETTINGS, other.io)).toEqual({
      kind: "failed",
      code: "FailedOperation.NewRule",
      retryable: false,
      reason: "refused by a new rule",
    });
  });

  it("retries an HTTP 5xx without a Tencent answer, and fails an HTTP 4xx without one", async () => {
    const gateway = carrier(() => new Response("<html>Bad Gateway</html>", { status: 502 }));
    const forbidden = carrier(() => new Response("Forbidden", { status: 403 }));

    expect(await tencent.send(REQUEST, SETTINGS, gateway.io)).toMatchObject({
      kind: "failed",
      code: "http_502",
      retryable: true,
    });
    expect(await tencent.send(REQUEST, SETTINGS, forbidden.io)).toMatchObject({
      kind: "failed",
      code: "http_403",
      retryable: false,
    });
  });

  it("calls an HTTP 200 it cannot read unknown, since the message may have gone", async () => {
    const { io } = carrier(() => new Response("<html>maintenance</html>", { status: 200 }));

    expect(await tencent.send(REQUEST, SETTINGS, io)).toMatchObject({ kind: "unknown" });
  });

  it("gives up after timeout_ms on a carrier that never answers, aborting the request", async () => {
    const { io, requests } = carrier(() => new Promise<Response>(() => {}));
    const settings = { ...SETTINGS, config: { ...SETTINGS.config, timeout_ms: 20 } };

    const outcome = await tencent.send(REQUEST, settings, io);

    expect(outcome).toEqual({ kind: "unknown", reason: "no answer from Tencent within 20 ms" });
    expect(requests[0]?.signal.aborted).toBe(true);
  });

  it("calls a network error unknown", async () => {
    const { io } = carrier(() => Promise.reject(new TypeError("Network connection lost.")));

    const outcome = await tencent.send(REQUEST, SETTINGS, io);

    expect(outcome.kind).toBe("unknown");
    expect(outcome.kind === "unknown" && outcome.reason).toContain("Network connection lost.");
  });

  it("fails a message without a Tencent template before any request", async () => {
    const { io, requests } = carrier(() => sendStatus("Ok", "send success"));

    const outcome = await tencent.send({ ...REQUEST, template: null }, SETTINGS, io);

    expect(outcome).toMatchObject({ kind: "failed", code: "template_required", retryable: false });
    expect(requests).toHaveLength(0);
  });

  it("fails before any request when credentials, app id or signature name are missing", async () => {
    const { io, requests } = carrier(() => sendStatus("Ok", "send success"));

    const nothing = await tencent.send(
      { ...REQUEST, signName: null },
      { config: {}, secrets: {} },
      io,
    );
    const noKey = await tencent.send(REQUEST, { config: SETTINGS.config, secrets: {} }, io);

    expect(nothing).toEqual({
      kind: "failed",
      code: "settings_incomplete",
      retryable: false,
      reason:
        "Tencent settings lack config.secret_id, secrets.secret_key, config.sms_sdk_app_id, a signature name (config.sign_name)",
    });
    expect(noKey).toEqual({
      kind: "failed",
      code: "settings_incomplete",
      retryable: false,
      reason: "Tencent settings lack secrets.secret_key",
    });
    expect(requests).toHaveLength(0);
  });
});

describe("tencent receipts", () => {
  const context = { settings: SETTINGS, publicUrl: "https://relaybox.example/hooks" };
  const post = (body: string) =>
    new Request("https://relaybox.example/hooks/sms/tencent/hk_token/status", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });

  it("reads a batch: SUCCESS is delivered, FAIL is undelivered with errmsg and description", async () => {
    // The documented sample, plus a failure.
    const body = JSON.stringify([
      {
        user_receive_time: "2015-10-17 08:03:04",
        nationcode: "86",
        mobile: "13xxxxxxxxx",
        report_status: "SUCCESS",
        errmsg: "DELIVRD",
        description: "用户短信送达成功",
        sid: "xxxxxxx",
      },
      {
        user_receive_time: "2015-10-17 08:03:05",
        nationcode: "86",
        mobile: "13yyyyyyyyy",
        report_status: "FAIL",
        errmsg: "MK:0005",
        description: "空号",
        sid: "yyyyyyy",
      },
    ]);

    expect(await tencent.parseReceipt(post(body), context)).toEqual([
      { providerMessageId: "xxxxxxx", status: "delivered" },
      { providerMessageId: "yyyyyyy", status: "undelivered", reason: "MK:0005 空号" },
    ]);
  });

  it.each([
    ["not JSON", "report_status=SUCCESS"],
    ["a single object", '{"sid":"x","report_status":"SUCCESS"}'],
    ["a receipt without sid", '[{"report_status":"SUCCESS","errmsg":"DELIVRD"}]'],
    ["an unknown status", '[{"sid":"x","report_status":"DELIVERED"}]'],
  ])("refuses %s as a format error", async (_, body) => {
    await expect(tencent.parseReceipt(post(body), context)).rejects.toBeInstanceOf(
      ReceiptFormatError,
    );
  });
});
