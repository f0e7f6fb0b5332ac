import { describe, expect, it } from "vitest";
import {
  type AdapterIO,
  type ProviderSettings,
  ReceiptFormatError,
  type SmsSendRequest,
} from "../../src/channels/sms/adapter";
import {
  aliyun,
  aliyunPhoneNumber,
  aliyunTimestamp,
  createAliyunAdapter,
} from "../../src/channels/sms/aliyun";

const NOW = Date.UTC(2025, 5, 1, 8, 30, 15, 123);
const NONCE = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a";
const adapter = createAliyunAdapter({ nonce: () => NONCE });

const request: SmsSendRequest = {
  messageId: "msg_01HZY3Q8K2W5T7V9X1B3D5F7H9",
  to: "+8613800138000",
  from: null,
  body: "【Relaybox】Your Relaybox 登录 code is 123456",
  attempt: 1,
  statusCallbackUrl: "https://relaybox.test/hooks/sms/aliyun/hk_token/status",
  template: {
    code: "SMS_15305",
    params: [
      { name: "code", value: "123456" },
      { name: "product", value: "Relaybox 登录" },
    ],
  },
  signName: "Relaybox",
};

const settings: ProviderSettings = {
  config: { access_key_id: "LTAI5tTestKeyId", base_url: "https://dysms.test" },
  secrets: { access_key_secret: "testSecretValue" },
};

/** A carrier that answers every request with `answer` and keeps what it was sent. */
function fakeAliyun(answer: () => Response | Promise<Response>) {
  const requests: Request[] = [];
  const io: AdapterIO = {
    fetch: async (sent) => {
      requests.push(sent);
      return answer();
    },
    now: () => NOW,
    waitUntil: () => {},
  };
  return { io, requests };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** The body as sent (workerd warns when `.text()` reads a form-encoded body). */
async function bodyOf(sent: Request): Promise<string> {
  return new TextDecoder().decode(await sent.arrayBuffer());
}

const OK = { Code: "OK", Message: "OK", BizId: "900619746936498440^0", RequestId: "F655A8D5" };

async function sentParams(
  sendRequest: SmsSendRequest,
  sendSettings: ProviderSettings,
): Promise<{ url: string; params: URLSearchParams }> {
  const { io, requests } = fakeAliyun(() => json(OK));
  await adapter.send(sendRequest, sendSettings, io);
  const [sent] = requests;
  if (!sent) {
    throw new Error("nothing was sent");
  }
  return { url: sent.url, params: new URLSearchParams(await bodyOf(sent)) };
}

describe("Aliyun send", () => {
  it("posts one signed SendSms, form-encoded, with every parameter, to base_url", async () => {
    const { io, requests } = fakeAliyun(() => json(OK));
    const outcome = await adapter.send(request, settings, io);

    // The BizId and the number: one BizId covers every number of a SendBatchSms.
    expect(outcome).toEqual({
      kind: "sent",
      providerMessageId: "900619746936498440^0:13800138000",
    });
    expect(requests).toHaveLength(1);
    const [sent] = requests;
    expect(sent?.method).toBe("POST");
    expect(sent?.url).toBe("https://dysms.test/");
    expect(sent?.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    // Signature computed independently (Node's crypto.createHmac over the same string to sign).
    expect(sent && (await bodyOf(sent))).toBe(
      "AccessKeyId=LTAI5tTestKeyId&Action=SendSms&Format=JSON" +
        "&OutId=msg_01HZY3Q8K2W5T7V9X1B3D5F7H9&PhoneNumbers=13800138000&RegionId=cn-hangzhou" +
        "&SignName=Relaybox&SignatureMethod=HMAC-SHA1" +
        "&SignatureNonce=9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a&SignatureVersion=1.0" +
        "&TemplateCode=SMS_15305" +
        "&TemplateParam=%7B%22code%22%3A%22123456%22%2C%22product%22%3A%22Relaybox%20%E7%99%BB%E5%BD%95%22%7D" +
        "&Timestamp=2025-06-01T08%3A30%3A15Z&Version=2017-05-25" +
        "&Signature=0Q382KvYMIbVH04T0gTDS3xl4UY%3D",
    );
  });

  it("sends the template values as a JSON object by name", async () => {
    const { params } = await sentParams(request, settings);
    expect(JSON.parse(params.get("TemplateParam") ?? "")).toEqual({
      code: "123456",
      product: "Relaybox 登录",
    });
  });

  it("defaults to Aliyun's endpoint and takes the sign name and region from the settings", async () => {
    const { url, params } = await sentParams(
      { ...request, signName: null, template: { code: "SMS_1", params: [] } },
      {
        config: {
          access_key_id: "LTAI5tTestKeyId",
          sign_name: "阿里云短信测试",
          region: "cn-shanghai",
        },
        secrets: { access_key_secret: "testSecretValue" },
      },
    );
    expect(url).toBe("https://dysmsapi.aliyuncs.com/");
    expect(params.get("SignName")).toBe("阿里云短信测试");
    expect(params.get("RegionId")).toBe("cn-shanghai");
    // A template without variables sends no TemplateParam at all.
    expect(params.has("TemplateParam")).toBe(false);
  });

  it("sends a mainland number without +86 and a foreign one as country code and number", async () => {
    expect(aliyunPhoneNumber("+8613800138000")).toBe("13800138000");
    expect(aliyunPhoneNumber("+85291234567")).toBe("85291234567");
    expect(aliyunPhoneNumber("+14155550100")).toBe("14155550100");
    expect(aliyunPhoneNumber("13800138000")).toBeNull();
    const { params } = await sentParams({ ...request, to: "+85291234567" }, settings);
    expect(params.get("PhoneNumbers")).toBe("85291234567");
  });

  it("stamps the request with io.now() in UTC to the second", () => {
    expect(aliyunTimestamp(NOW)).toBe("2025-06-01T08:30:15Z");
  });

  it("uses a fresh nonce for every request by default", async () => {
    const { io, requests } = fakeAliyun(() => json(OK));
    await aliyun.send(request, settings, io);
    await aliyun.send(request, settings, io);
    const nonces = await Promise.all(
      requests.map(async (sent) => new URLSearchParams(await bodyOf(sent)).get("SignatureNonce")),
    );
    expect(nonces[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(nonces[0]).not.toBe(nonces[1]);
  });

  it("refuses a message without an Aliyun template before calling Aliyun", async () => {
    const { io, requests } = fakeAliyun(() => json(OK));
    const outcome = await adapter.send({ ...request, template: null }, settings, io);
    expect(outcome).toEqual({
      kind: "failed",
      retryable: false,
      code: "template_required",
      reason: "Aliyun sends only approved templates",
    });
    expect(requests).toHaveLength(0);
  });

  it.each([
    ["no access_key_id", { ...settings, config: { base_url: "https://dysms.test" } }, request],
    ["no access_key_secret", { ...settings, secrets: {} }, request],
    ["no sign name", settings, { ...request, signName: null }],
  ])("fails permanently with %s, before calling Aliyun", async (_case, badSettings, badRequest) => {
    const { io, requests } = fakeAliyun(() => json(OK));
    const outcome = await adapter.send(badRequest, badSettings, io);
    expect(outcome).toMatchObject({ kind: "failed", retryable: false });
    expect(requests).toHaveLength(0);
  });

  it.each([
    ["isv.BUSINESS_LIMIT_CONTROL", 200, "触发小时级流控Permits:5", true],
    ["Throttling.User", 400, "Request was denied due to user flow control.", true],
    ["ServiceUnavailable", 503, "The request has failed due to a temporary failure.", true],
    ["InternalError", 500, "The request processing has failed due to some unknown error.", true],
    ["isp.SYSTEM_ERROR", 200, "系统错误", true],
    ["isv.MOBILE_NUMBER_ILLEGAL", 200, "非法手机号", false],
    ["isv.SMS_TEMPLATE_ILLEGAL", 200, "模板不合法(不存在或被拉黑)", false],
    ["isv.SMS_SIGNATURE_ILLEGAL", 200, "签名不合法(不存在或被拉黑)", false],
    ["isv.TEMPLATE_MISSING_PARAMETERS", 200, "模板缺少变量", false],
    ["isv.AMOUNT_NOT_ENOUGH", 200, "账户余额不足", false],
    ["isv.BLACK_KEY_CONTROL_LIMIT", 200, "黑名单管控", false],
    ["isv.DAY_LIMIT_CONTROL", 200, "触发日发送限额", false],
    ["InvalidAccessKeyId.NotFound", 404, "Specified access key is not found.", false],
    ["isv.SOMETHING_NEW", 200, "新的错误", false],
    ["SomethingBroke", 502, "upstream failure", true],
  ])("maps %s (HTTP %i) to a failure, retryable: %s", async (code, status, message, again) => {
    const { io } = fakeAliyun(() =>
      json({ Code: code, Message: message, RequestId: "R-1" }, status),
    );
    const outcome = await adapter.send(request, settings, io);
    expect(outcome).toMatchObject({ kind: "failed", retryable: again, code });
    expect(outcome.kind === "failed" && outcome.reason).toContain(message);
    expect(outcome.kind === "failed" && outcome.reason).toContain("RequestId R-1");
  });

  it("does not take a name from Object.prototype for a known error code", async () => {
    const { io } = fakeAliyun(() => json({ Code: "constructor", Message: "?" }));
    expect(await adapter.send(request, settings, io)).toEqual({
      kind: "failed",
      retryable: false,
      code: "constructor",
      reason: "Aliyun refused the message (Aliyun: ?)",
    });
  });

  it("keeps Aliyun's echo of the string to sign (number, template values) out of the reason", async () => {
    const echo =
      "Specified signature is not matched with our calculation. server string to sign is:" +
      "POST&%2F&AccessKeyId%3DLTAI5tTestKeyId%26PhoneNumbers%3D13800138000%26TemplateParam%3D123456";
    const { io } = fakeAliyun(() => json({ Code: "SignatureDoesNotMatch", Message: echo }, 400));
    const outcome = await adapter.send(request, settings, io);
    expect(outcome).toMatchObject({
      kind: "failed",
      retryable: false,
      code: "SignatureDoesNotMatch",
    });
    expect(outcome.kind === "failed" && outcome.reason).not.toContain("13800138000");
    expect(outcome.kind === "failed" && outcome.reason).toContain("access_key_secret");
  });

  it("treats an HTTP 500 without an Aliyun error code as retryable", async () => {
    const { io } = fakeAliyun(() => new Response("<html>bad gateway</html>", { status: 500 }));
    expect(await adapter.send(request, settings, io)).toMatchObject({
      kind: "failed",
      retryable: true,
      code: "http_500",
    });
  });

  it("calls an unreadable HTTP 200, or an OK without a BizId, unknown: it may have been sent", async () => {
    const garbled = fakeAliyun(() => new Response("<html>ok</html>", { status: 200 }));
    expect(await adapter.send(request, settings, garbled.io)).toMatchObject({ kind: "unknown" });
    const noBizId = fakeAliyun(() => json({ Code: "OK", Message: "OK", RequestId: "R-2" }));
    expect(await adapter.send(request, settings, noBizId.io)).toMatchObject({ kind: "unknown" });
  });

  it("gives up after timeout_ms and calls the outcome unknown, aborting the request", async () => {
    const { io, requests } = fakeAliyun(() => new Promise<Response>(() => {}));
    const outcome = await adapter.send(
      request,
      { ...settings, config: { ...settings.config, timeout_ms: 20 } },
      io,
    );
    expect(outcome).toEqual({ kind: "unknown", reason: "no answer from Aliyun within 20 ms" });
    expect(requests[0]?.signal.aborted).toBe(true);
  });

  it("calls a network error unknown", async () => {
    const { io } = fakeAliyun(() => Promise.reject(new TypeError("Network connection lost.")));
    const outcome = await adapter.send(request, settings, io);
    expect(outcome).toMatchObject({ kind: "unknown" });
    expect(outcome.kind === "unknown" && outcome.reason).toContain("Network connection lost.");
  });
});

function push(body: string): Request {
  return new Request("https://relaybox.test/hooks/sms/aliyun/hk_token/status", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
}

const context = { settings, publicUrl: "https://relaybox.test" };

describe("Aliyun receipts (SmsReport)", () => {
  it("reads a delivered report, with biz_id and the number as the provider id and out_id as ours", async () => {
    const receipts = await adapter.parseReceipt(
      push(
        JSON.stringify([
          {
            phone_number: "13800138000",
            send_time: "2025-06-01 16:30:15",
            report_time: "2025-06-01 16:30:18",
            success: true,
            err_code: "DELIVERED",
            err_msg: "用户接收成功",
            sms_size: "1",
            biz_id: "900619746936498440^0",
            out_id: "msg_01HZY3Q8K2W5T7V9X1B3D5F7H9",
          },
        ]),
      ),
      context,
    );
    expect(receipts).toEqual([
      {
        messageId: "msg_01HZY3Q8K2W5T7V9X1B3D5F7H9",
        providerMessageId: "900619746936498440^0:13800138000",
        status: "delivered",
      },
    ]);
  });

  it("reads a failed report as undelivered, its err_code and err_msg as the reason", async () => {
    const receipts = await adapter.parseReceipt(
      push(
        JSON.stringify([
          {
            phone_number: "13800138001",
            success: false,
            err_code: "MK:0001",
            err_msg: "号码停机",
            biz_id: "900619746936498441^0",
            out_id: "msg_01HZY3Q8K2W5T7V9X1B3D5F7HA",
          },
          { success: true, err_code: "DELIVERED", biz_id: "900619746936498442^0", out_id: "" },
        ]),
      ),
      context,
    );
    expect(receipts).toEqual([
      {
        messageId: "msg_01HZY3Q8K2W5T7V9X1B3D5F7HA",
        providerMessageId: "900619746936498441^0:13800138001",
        status: "undelivered",
        reason: "MK:0001 号码停机",
      },
      // No out_id and no number: the receipt is matched by biz_id alone.
      { providerMessageId: "900619746936498442^0", status: "delivered" },
    ]);
  });

  it.each([
    ["not JSON", "success=true"],
    ["an object, not an array", JSON.stringify({ biz_id: "1", success: true })],
    ["an empty array", "[]"],
    ["a report without biz_id", JSON.stringify([{ success: true, out_id: "msg_1" }])],
    ["success as a string", JSON.stringify([{ biz_id: "1", success: "true" }])],
  ])("refuses %s with ReceiptFormatError", async (_case, body) => {
    await expect(adapter.parseReceipt(push(body), context)).rejects.toBeInstanceOf(
      ReceiptFormatError,
    );
  });
});

describe("Aliyun SendBatchSms", () => {
  it("sends several messages of one template in one signed call, each with its own id", async () => {
    const { io, requests } = fakeAliyun(() => json(OK));
    const second: SmsSendRequest = {
      ...request,
      messageId: "msg_01HZY3Q8K2W5T7V9X1B3D5F7HB",
      to: "+85291234567",
      template: { code: "SMS_15305", params: [{ name: "code", value: "654321" }] },
    };
    const noTemplate: SmsSendRequest = { ...request, messageId: "msg_x", template: null };
    const outcomes = await adapter.sendMany?.([request, second, noTemplate], settings, io);
    expect(outcomes).toEqual([
      { kind: "sent", providerMessageId: "900619746936498440^0:13800138000" },
      { kind: "sent", providerMessageId: "900619746936498440^0:85291234567" },
      expect.objectContaining({ kind: "failed", retryable: false, code: "template_required" }),
    ]);
    expect(requests).toHaveLength(1);
    const params = new URLSearchParams(await bodyOf(requests[0] as Request));
    expect(params.get("Action")).toBe("SendBatchSms");
    expect(JSON.parse(params.get("PhoneNumberJson") ?? "")).toEqual(["13800138000", "85291234567"]);
    expect(JSON.parse(params.get("SignNameJson") ?? "")).toEqual(["Relaybox", "Relaybox"]);
    expect(params.get("TemplateCode")).toBe("SMS_15305");
    expect(JSON.parse(params.get("TemplateParamJson") ?? "")).toEqual([
      Object.fromEntries((request.template?.params ?? []).map((p) => [p.name, p.value])),
      { code: "654321" },
    ]);
    expect(params.get("Signature")).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(adapter.maxPerCall).toBe(100);
  });

  it("gives every message of the call the same failure", async () => {
    const { io } = fakeAliyun(() =>
      json({ Code: "isv.BUSINESS_LIMIT_CONTROL", Message: "触发分钟级流控", RequestId: "r" }),
    );
    const outcomes = await adapter.sendMany?.(
      [request, { ...request, to: "+8613800138009" }],
      settings,
      io,
    );
    expect(outcomes?.map((o) => o.kind === "failed" && o.retryable)).toEqual([true, true]);
  });
});
