import { describe, expect, it } from "vitest";
import { ReceiptAuthError, ReceiptFormatError } from "../../src/channels/sms/adapter";
import { aliyun } from "../../src/channels/sms/aliyun";
import { aliyunInbound, aliyunTime, mainlandE164 } from "../../src/channels/sms/aliyun-inbound";
import { sandbox, sandboxInbound } from "../../src/channels/sms/sandbox";
import { tencent } from "../../src/channels/sms/tencent";
import { tencentE164, tencentInbound } from "../../src/channels/sms/tencent-inbound";
import { twilio } from "../../src/channels/sms/twilio";
import { twilioInbound } from "../../src/channels/sms/twilio-inbound";

const NOW = Date.UTC(2026, 0, 15, 9, 30);
const AUTH_TOKEN = "f3c1d2e4a5b6978812345678abcdef90";
const INBOUND_URL = "https://relaybox.example/hooks/sms/twilio/hk_7Qm2xR/inbound";

function post(body: string, headers: Record<string, string> = {}): Request {
  return new Request("https://worker.internal/hooks/sms/any/hk_x/inbound", {
    method: "POST",
    headers,
    body,
  });
}

function context(secrets: Record<string, string> = {}) {
  return { settings: { config: {}, secrets }, publicUrl: INBOUND_URL, now: NOW };
}

// Twilio's incoming-message form, with the fields its webhook page lists; signatures computed
// with Node's crypto (HMAC-SHA1 of the URL and the sorted parameters, keyed by the auth token).
const TWILIO_TEXT =
  "MessageSid=SM00000000000000000000000000000077&SmsSid=SM00000000000000000000000000000077" +
  "&AccountSid=AC00000000000000000000000000000001&MessagingServiceSid=MG00000000000000000000000000000003" +
  "&From=%2B14155550100&To=%2B15017122661&Body=Yes%2C+see+you+at+10&NumMedia=0&NumSegments=1" +
  "&SmsStatus=received&FromCountry=US&ApiVersion=2010-04-01";
const TWILIO_TEXT_SIGNATURE = "7DMmXxZHT4aNQe1Sp5MPCwrG2EU=";
const TWILIO_PICTURE =
  "MessageSid=MM00000000000000000000000000000078&AccountSid=AC00000000000000000000000000000001" +
  "&From=%2B14155550100&To=%2B15017122661&Body=&NumMedia=1&MediaContentType0=image%2Fjpeg" +
  "&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC00000000000000000000000000000001" +
  "%2FMessages%2FMM00000000000000000000000000000078%2FMedia%2FME00000000000000000000000000000001";
const TWILIO_PICTURE_SIGNATURE = "AlkvXdxTlRvdyinf9SJ6988+PeU=";

function twilioPost(body: string, signature: string): Request {
  return post(body, {
    "content-type": "application/x-www-form-urlencoded",
    "X-Twilio-Signature": signature,
  });
}

describe("twilio.parseInbound", () => {
  it("reads a signed incoming message, keeping every field Twilio sent", async () => {
    const request = twilioPost(TWILIO_TEXT, TWILIO_TEXT_SIGNATURE);
    const [message, ...rest] = await twilio.parseInbound(
      request,
      context({ auth_token: AUTH_TOKEN }),
    );
    expect(rest).toEqual([]);
    expect(message).toMatchObject({
      from: "+14155550100",
      to: "+15017122661",
      body: "Yes, see you at 10",
      providerMessageId: "SM00000000000000000000000000000077",
      receivedAt: NOW,
    });
    expect(message?.raw).toMatchObject({
      MessagingServiceSid: "MG00000000000000000000000000000003",
      NumMedia: "0",
      FromCountry: "US",
    });
  });

  it("reads a picture message with no text, its media in the raw fields", async () => {
    const request = twilioPost(TWILIO_PICTURE, TWILIO_PICTURE_SIGNATURE);
    const [message] = await twilio.parseInbound(request, context({ auth_token: AUTH_TOKEN }));
    expect(message).toMatchObject({
      body: "",
      providerMessageId: "MM00000000000000000000000000000078",
    });
    expect(message?.raw).toMatchObject({ NumMedia: "1", MediaContentType0: "image/jpeg" });
  });

  it("refuses a message whose signature is not Twilio's, or with no auth token to check it", async () => {
    const altered = TWILIO_TEXT.replace("see+you+at+10", "see+you+at+11");
    await expect(
      twilio.parseInbound(
        twilioPost(altered, TWILIO_TEXT_SIGNATURE),
        context({ auth_token: AUTH_TOKEN }),
      ),
    ).rejects.toThrow(ReceiptAuthError);
    await expect(
      twilio.parseInbound(twilioPost(TWILIO_TEXT, TWILIO_TEXT_SIGNATURE), context()),
    ).rejects.toThrow(ReceiptAuthError);
  });

  it("needs MessageSid and From", () => {
    expect(() => twilioInbound({ From: "+14155550100", Body: "hi" }, NOW)).toThrow(
      ReceiptFormatError,
    );
    expect(() => twilioInbound({ MessageSid: "SM1", Body: "hi" }, NOW)).toThrow(ReceiptFormatError);
  });
});

describe("aliyun.parseInbound (SmsUp)", () => {
  // The example of Aliyun's SmsUp page, with a full number in place of its masked one.
  const push = [
    {
      phone_number: "13800138000",
      send_time: "2017-09-01 00:00:00",
      content: "内容",
      sign_name: "签名",
      dest_code: "1234",
      sequence_id: 1234567890,
    },
  ];

  it("reads the JSON array, the time in Beijing time and the number in E.164", async () => {
    expect(await aliyun.parseInbound(post(JSON.stringify(push)), context())).toEqual([
      {
        from: "+8613800138000",
        to: "1234",
        body: "内容",
        providerMessageId: "1234567890",
        receivedAt: Date.UTC(2017, 7, 31, 16, 0, 0),
        raw: push[0],
      },
    ]);
  });

  it("reads several replies in one push, in their order", () => {
    const second = { ...push[0], phone_number: "8613900139000", content: "TD", sequence_id: 7 };
    expect(
      aliyunInbound([...push, second]).map((m) => [m.from, m.body, m.providerMessageId]),
    ).toEqual([
      ["+8613800138000", "内容", "1234567890"],
      ["+8613900139000", "TD", "7"],
    ]);
  });

  it("refuses a body that is not the documented array, or a time not in its format", async () => {
    await expect(aliyun.parseInbound(post(JSON.stringify(push[0])), context())).rejects.toThrow(
      ReceiptFormatError,
    );
    await expect(aliyun.parseInbound(post("[]"), context())).rejects.toThrow(ReceiptFormatError);
    await expect(aliyun.parseInbound(post("not json"), context())).rejects.toThrow(
      ReceiptFormatError,
    );
    expect(() => aliyunInbound([{ ...push[0], send_time: "2017-09-01T00:00:00Z" }])).toThrow(
      ReceiptFormatError,
    );
  });

  it("turns Beijing time and mainland numbers into ours", () => {
    expect(aliyunTime("2024-02-29 08:00:00")).toBe(Date.UTC(2024, 1, 29, 0, 0, 0));
    expect(aliyunTime("yesterday")).toBeNull();
    expect(mainlandE164("+8613800138000")).toBe("+8613800138000");
    expect(mainlandE164("008613800138000")).toBe("+8613800138000");
    // Not a mainland mobile number: kept as given.
    expect(mainlandE164("85291234567")).toBe("85291234567");
  });
});

describe("tencent.parseInbound (reply callback)", () => {
  // The example of Tencent's 短信回复 page, with a full number in place of its masked one.
  const reply = {
    extend: "扩展码",
    mobile: "13800138000",
    nationcode: "86",
    sign: "短信签名",
    text: "用户回复的内容",
    time: 1457336869,
  };

  it("reads the documented object: the number with its country code, the time in seconds", async () => {
    expect(await tencent.parseInbound(post(JSON.stringify(reply)), context())).toEqual([
      {
        from: "+8613800138000",
        to: "扩展码",
        body: "用户回复的内容",
        providerMessageId: null,
        receivedAt: 1457336869000,
        raw: reply,
      },
    ]);
  });

  it("reads an array of replies, with no extension code", () => {
    const other = { ...reply, extend: "", mobile: "2025550123", nationcode: "1", text: "STOP" };
    expect(tencentInbound([reply, other]).map((m) => [m.from, m.to, m.body])).toEqual([
      ["+8613800138000", "扩展码", "用户回复的内容"],
      ["+12025550123", "", "STOP"],
    ]);
  });

  it("refuses a reply without its number, text or time", async () => {
    const { mobile: _mobile, ...noMobile } = reply;
    await expect(tencent.parseInbound(post(JSON.stringify(noMobile)), context())).rejects.toThrow(
      ReceiptFormatError,
    );
    expect(() => tencentInbound({ ...reply, time: "soon" })).toThrow(ReceiptFormatError);
    expect(() => tencentInbound([])).toThrow(ReceiptFormatError);
  });

  it("keeps a number as given when its country code does not make E.164 of it", () => {
    expect(tencentE164("+8613800138000", "86")).toBe("+8613800138000");
    expect(tencentE164("13800138000", "")).toBe("13800138000");
  });
});

describe("sandbox.parseInbound", () => {
  it("reads our own JSON, timed by received_at or by the callback", async () => {
    const body = [
      { from: "+8613800138001", to: "Relaybox", body: "Hi", message_id: "in_1" },
      { from: "+8613800138002", to: "Relaybox", body: "Yo", received_at: "2026-01-15T08:00:00Z" },
    ];
    expect(await sandbox.parseInbound(post(JSON.stringify(body)), context())).toEqual([
      {
        from: "+8613800138001",
        to: "Relaybox",
        body: "Hi",
        providerMessageId: "in_1",
        receivedAt: NOW,
        raw: body[0],
      },
      {
        from: "+8613800138002",
        to: "Relaybox",
        body: "Yo",
        providerMessageId: null,
        receivedAt: Date.UTC(2026, 0, 15, 8),
        raw: body[1],
      },
    ]);
  });

  it("refuses a message without a sender, or with a time that is not ISO 8601", () => {
    expect(() => sandboxInbound({ to: "x", body: "Hi" }, NOW)).toThrow(ReceiptFormatError);
    expect(() =>
      sandboxInbound({ from: "+8613800138001", to: "x", body: "Hi", received_at: "today" }, NOW),
    ).toThrow(ReceiptFormatError);
  });
});
