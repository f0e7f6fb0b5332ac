import { describe, expect, it } from "vitest";
import {
  type AdapterIO,
  type ProviderSettings,
  ReceiptAuthError,
  ReceiptFormatError,
  type SmsSendRequest,
} from "../../src/channels/sms/adapter";
import { twilio } from "../../src/channels/sms/twilio";

const ACCOUNT_SID = "AC00000000000000000000000000000001";
const AUTH_TOKEN = "f3c1d2e4a5b6978812345678abcdef90";
const HOOK_URL = "https://relaybox.example/hooks/sms/twilio/hk_7Qm2xR/status";
const SID = "SM00000000000000000000000000000042";

// base64("AC…0001:f3c1…ef90") and base64("SK…0009:key-secret-0123"), computed with Node's Buffer.
const ACCOUNT_BASIC =
  "Basic QUMwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMTpmM2MxZDJlNGE1YjY5Nzg4MTIzNDU2NzhhYmNkZWY5MA==";
const API_KEY_BASIC = "Basic U0swMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwOTprZXktc2VjcmV0LTAxMjM=";

function sendRequest(overrides: Partial<SmsSendRequest> = {}): SmsSendRequest {
  return {
    messageId: "msg_01J9ZK3Q",
    to: "+15558675310",
    from: null,
    body: "Your code is 123456",
    attempt: 1,
    statusCallbackUrl: HOOK_URL,
    template: null,
    signName: null,
    ...overrides,
  };
}

function settings(
  config: ProviderSettings["config"] = { account_sid: ACCOUNT_SID, from: "+15017122661" },
  secrets: ProviderSettings["secrets"] = { auth_token: AUTH_TOKEN },
): ProviderSettings {
  return { config, secrets };
}

/** A fake Twilio that records every request and answers with `respond`. */
function fakeTwilio(respond: () => Promise<Response>) {
  const requests: Request[] = [];
  const io: AdapterIO = {
    fetch: (request) => {
      requests.push(request);
      return respond();
    },
    now: () => 0,
    waitUntil: () => undefined,
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

/** The body as sent (workerd warns when .text() reads a form-encoded body). */
const formOf = async (request: Request) => new TextDecoder().decode(await request.arrayBuffer());

const created = () =>
  Promise.resolve(
    Response.json({ sid: SID, status: "queued", account_sid: ACCOUNT_SID }, { status: 201 }),
  );

const twilioError = (status: number, code: number, message: string) => () =>
  Promise.resolve(
    Response.json(
      { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
      { status },
    ),
  );

describe("twilio.send", () => {
  it("posts To, From, Body and StatusCallback to the account's Messages.json with Basic auth", async () => {
    const fake = fakeTwilio(created);
    const outcome = await twilio.send(sendRequest(), settings(), fake.io);
    expect(outcome).toEqual({ kind: "sent", providerMessageId: SID });
    const request = fake.theRequest();
    expect(request.method).toBe("POST");
    expect(request.url).toBe(
      `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
    );
    expect(request.headers.get("authorization")).toBe(ACCOUNT_BASIC);
    expect(request.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(await formOf(request)).toBe(
      "To=%2B15558675310&From=%2B15017122661&Body=Your+code+is+123456" +
        "&StatusCallback=https%3A%2F%2Frelaybox.example%2Fhooks%2Fsms%2Ftwilio%2Fhk_7Qm2xR%2Fstatus",
    );
  });

  it("sends through the Messaging Service, without From, to the configured base URL", async () => {
    const fake = fakeTwilio(created);
    const config = {
      account_sid: ACCOUNT_SID,
      messaging_service_sid: "MG00000000000000000000000000000007",
      from: "+15017122661",
      base_url: "http://twilio.fake:8787/",
    };
    await twilio.send(sendRequest(), settings(config), fake.io);
    const request = fake.theRequest();
    expect(request.url).toBe(
      `http://twilio.fake:8787/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
    );
    expect(request.headers.get("authorization")).toBe(ACCOUNT_BASIC);
    expect(await formOf(request)).toBe(
      "To=%2B15558675310&MessagingServiceSid=MG00000000000000000000000000000007" +
        "&Body=Your+code+is+123456" +
        "&StatusCallback=https%3A%2F%2Frelaybox.example%2Fhooks%2Fsms%2Ftwilio%2Fhk_7Qm2xR%2Fstatus",
    );
  });

  it("uses the message's own sender rather than the configured one", async () => {
    const fake = fakeTwilio(created);
    await twilio.send(sendRequest({ from: "Relaybox" }), settings(), fake.io);
    expect(new URLSearchParams(await formOf(fake.theRequest())).getAll("From")).toEqual([
      "Relaybox",
    ]);
  });

  it("signs in with an API key when one is set, still under the account's URL", async () => {
    const fake = fakeTwilio(created);
    const secrets = {
      auth_token: AUTH_TOKEN,
      api_key_sid: "SK00000000000000000000000000000009",
      api_key_secret: "key-secret-0123",
    };
    await twilio.send(sendRequest(), settings(undefined, secrets), fake.io);
    const request = fake.theRequest();
    expect(request.headers.get("authorization")).toBe(API_KEY_BASIC);
    expect(request.url).toBe(
      `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
    );
  });

  it("fails for good when Twilio rejects the 'To' number (21211)", async () => {
    const message = "The 'To' number +1555 is not a valid phone number.";
    const fake = fakeTwilio(twilioError(400, 21211, message));
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toEqual({
      kind: "failed",
      retryable: false,
      code: "twilio_21211",
      reason: `the 'To' number is not a valid phone number (Twilio: ${message})`,
    });
  });

  it("fails for good with Twilio's own message for a code it does not list", async () => {
    const message = "The media URL is invalid.";
    const fake = fakeTwilio(twilioError(400, 21620, message));
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toEqual({
      kind: "failed",
      retryable: false,
      code: "twilio_21620",
      reason: message,
    });
  });

  it("retries when Twilio is rate limiting (429)", async () => {
    const fake = fakeTwilio(twilioError(429, 20429, "Too Many Requests"));
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toMatchObject({
      kind: "failed",
      retryable: true,
      code: "twilio_20429",
    });
  });

  it("retries when the sender's queue is full, though Twilio answers 400 (21611)", async () => {
    const fake = fakeTwilio(twilioError(400, 21611, "This 'From' number has exceeded the queue"));
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toMatchObject({
      kind: "failed",
      retryable: true,
      code: "twilio_21611",
    });
  });

  it("retries on a Twilio server error, reading a body that is not JSON by its status text", async () => {
    const fake = fakeTwilio(() =>
      Promise.resolve(
        new Response("upstream failure", { status: 500, statusText: "Internal Server Error" }),
      ),
    );
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toEqual({
      kind: "failed",
      retryable: true,
      code: "twilio_http_500",
      reason: "Internal Server Error",
    });
  });

  it("fails for good on a 4xx whose body is not JSON", async () => {
    const fake = fakeTwilio(() =>
      Promise.resolve(new Response("<html>nope</html>", { status: 404, statusText: "Not Found" })),
    );
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toEqual({
      kind: "failed",
      retryable: false,
      code: "twilio_http_404",
      reason: "Not Found",
    });
  });

  it("is unknown, and aborts the request, when Twilio does not answer within timeout_ms", async () => {
    const fake = fakeTwilio(() => new Promise<Response>(() => undefined));
    const config = { account_sid: ACCOUNT_SID, from: "+15017122661", timeout_ms: 20 };
    expect(await twilio.send(sendRequest(), settings(config), fake.io)).toEqual({
      kind: "unknown",
      reason: "no answer from Twilio within 20 ms",
    });
    expect(fake.theRequest().signal.aborted).toBe(true);
  });

  it("is unknown when the connection fails, since the message may have been created", async () => {
    const fake = fakeTwilio(() => Promise.reject(new TypeError("Network connection lost.")));
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toMatchObject({
      kind: "unknown",
      reason: expect.stringContaining("Network connection lost."),
    });
  });

  it("is unknown when Twilio answers 201 without a sid", async () => {
    const fake = fakeTwilio(() => Promise.resolve(new Response("", { status: 201 })));
    expect(await twilio.send(sendRequest(), settings(), fake.io)).toMatchObject({
      kind: "unknown",
    });
  });

  it.each([
    [
      "account_sid",
      { from: "+15017122661" },
      { auth_token: AUTH_TOKEN },
      "twilio_missing_account_sid",
    ],
    [
      "credentials",
      { account_sid: ACCOUNT_SID, from: "+15017122661" },
      {},
      "twilio_missing_credentials",
    ],
    ["sender", { account_sid: ACCOUNT_SID }, { auth_token: AUTH_TOKEN }, "twilio_missing_sender"],
  ])(
    "fails for good, without calling Twilio, when the %s setting is missing",
    async (_, config, secrets, code) => {
      const fake = fakeTwilio(created);
      expect(await twilio.send(sendRequest(), settings(config, secrets), fake.io)).toMatchObject({
        kind: "failed",
        retryable: false,
        code,
      });
      expect(fake.requests).toHaveLength(0);
    },
  );
});

/*
 * Each signature below was computed once outside workerd, with Node's crypto
 * (createHmac("sha1", AUTH_TOKEN) over HOOK_URL + the sorted name/value pairs, base64), so these
 * tests do not check the adapter against itself.
 */
const COMMON =
  "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01&From=%2B15017122661" +
  `&MessageSid=${SID}&To=%2B15558675310`;
const CALLBACKS = {
  delivered: {
    body: `${COMMON}&MessageStatus=delivered&SmsStatus=delivered`,
    signature: "sfd4WPT6Qx1fEXPl96a3ZrfqOxk=",
  },
  undelivered: {
    body: `${COMMON}&MessageStatus=undelivered&ErrorCode=30003`,
    signature: "K3bhGbT9Wkx0Kvm03YijKzfh5Ls=",
  },
  failed: {
    body: `${COMMON}&MessageStatus=failed&ErrorCode=30007`,
    signature: "teVdVqdmMjQ62VIOf+W3sEmmcHs=",
  },
  sent: { body: `${COMMON}&MessageStatus=sent`, signature: "62vXNz8nkSo/Y6Z1qnjIm/f1OYI=" },
  read: { body: `${COMMON}&MessageStatus=read`, signature: "aaLg0wYUKnvdexh/J5Dtp5lpOYk=" },
  noSid: {
    body: "AccountSid=AC00000000000000000000000000000001&MessageStatus=delivered",
    signature: "9C5wo2WIK/cp7nR7ZVjgYs0YQtU=",
  },
};

function callback(
  body: string,
  signature: string | null,
  contentType = "application/x-www-form-urlencoded",
) {
  const headers = new Headers({ "content-type": contentType });
  if (signature !== null) {
    headers.set("X-Twilio-Signature", signature);
  }
  return new Request("https://worker.internal/hooks/sms/twilio/hk_7Qm2xR/status", {
    method: "POST",
    headers,
    body,
  });
}

const context = (
  publicUrl = HOOK_URL,
  secrets: Record<string, string> = { auth_token: AUTH_TOKEN },
) => ({
  settings: { config: { account_sid: ACCOUNT_SID }, secrets },
  publicUrl,
});

describe("twilio.parseReceipt", () => {
  it("reads a signed delivered callback", async () => {
    const { body, signature } = CALLBACKS.delivered;
    expect(await twilio.parseReceipt(callback(body, signature), context())).toEqual([
      { providerMessageId: SID, status: "delivered" },
    ]);
  });

  it("reports undelivered with Twilio's error code and what it means", async () => {
    const { body, signature } = CALLBACKS.undelivered;
    expect(await twilio.parseReceipt(callback(body, signature), context())).toEqual([
      {
        providerMessageId: SID,
        status: "undelivered",
        reason: "Twilio: undelivered, error 30003 (the destination handset is unreachable)",
      },
    ]);
  });

  it("counts failed as undelivered", async () => {
    const { body, signature } = CALLBACKS.failed;
    expect(await twilio.parseReceipt(callback(body, signature), context())).toEqual([
      {
        providerMessageId: SID,
        status: "undelivered",
        reason: "Twilio: failed, error 30007 (the carrier filtered the message)",
      },
    ]);
  });

  it("counts read as delivered", async () => {
    const { body, signature } = CALLBACKS.read;
    expect(await twilio.parseReceipt(callback(body, signature), context())).toEqual([
      { providerMessageId: SID, status: "delivered" },
    ]);
  });

  it("returns no receipt for a status that is not final", async () => {
    const { body, signature } = CALLBACKS.sent;
    expect(await twilio.parseReceipt(callback(body, signature), context())).toEqual([]);
  });

  it("reads the JSON variant, signed over the URL with the body's bodySHA256", async () => {
    const body = `{"MessageSid":"${SID}","MessageStatus":"delivered"}`;
    const publicUrl = `${HOOK_URL}?bodySHA256=56ca49d4d590d3874da8da7b4c450d5ea591c2e685c1c3da8034d4abb697919e`;
    const signature = "heZBBcEesLpCisqYkNwiYQX3zqY=";
    const request = () => callback(body, signature, "application/json");
    expect(await twilio.parseReceipt(request(), context(publicUrl))).toEqual([
      { providerMessageId: SID, status: "delivered" },
    ]);
    const altered = callback(
      body.replace("delivered", "undelivered"),
      signature,
      "application/json",
    );
    await expect(twilio.parseReceipt(altered, context(publicUrl))).rejects.toThrow(
      ReceiptAuthError,
    );
  });

  it("rejects a forged signature and a body that is not the one signed", async () => {
    const { body, signature } = CALLBACKS.delivered;
    const forged = `${signature.slice(0, -2)}A=`;
    await expect(twilio.parseReceipt(callback(body, forged), context())).rejects.toThrow(
      ReceiptAuthError,
    );
    const swapped = callback(CALLBACKS.undelivered.body, signature);
    await expect(twilio.parseReceipt(swapped, context())).rejects.toThrow(ReceiptAuthError);
  });

  it("rejects a callback signed for another URL", async () => {
    const { body, signature } = CALLBACKS.delivered;
    const otherHook = "https://relaybox.example/hooks/sms/twilio/hk_other/status";
    await expect(
      twilio.parseReceipt(callback(body, signature), context(otherHook)),
    ).rejects.toThrow(ReceiptAuthError);
  });

  it("rejects a callback without X-Twilio-Signature", async () => {
    await expect(
      twilio.parseReceipt(callback(CALLBACKS.delivered.body, null), context()),
    ).rejects.toThrow(ReceiptAuthError);
  });

  it("rejects every callback while no auth token is configured", async () => {
    const { body, signature } = CALLBACKS.delivered;
    await expect(
      twilio.parseReceipt(callback(body, signature), context(HOOK_URL, {})),
    ).rejects.toThrow(ReceiptAuthError);
  });

  it("refuses a signed callback that has no MessageSid", async () => {
    const { body, signature } = CALLBACKS.noSid;
    await expect(twilio.parseReceipt(callback(body, signature), context())).rejects.toThrow(
      ReceiptFormatError,
    );
  });
});
