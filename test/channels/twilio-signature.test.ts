/**
 * Against the vectors Twilio publishes for X-Twilio-Signature: auth token "12345", URL
 * https://mycompany.com/myapp.php?foo=1&bar=2. The values are those in twilio/twilio-python
 * tests/unit/test_request_validator.py (the same in twilio-php's and twilio-csharp's validator
 * tests) and in TwilioDevEd/api-snippets security/signature_validation/signature_validation.3.x.js,
 * the snippet on Twilio's webhook-security page.
 */
import { describe, expect, it } from "vitest";
import {
  equalInConstantTime,
  isSignedByTwilio,
  twilioSignatureOf,
} from "../../src/channels/sms/twilio-signature";

const AUTH_TOKEN = "12345";
const URL_ = "https://mycompany.com/myapp.php?foo=1&bar=2";

function callParams(caller: string): [string, string][] {
  return [
    ["CallSid", "CA1234567890ABCDE"],
    ["Caller", caller],
    ["Digits", "1234"],
    ["From", caller],
    ["To", "+18005551212"],
  ];
}

const formOf = (params: [string, string][]) => new URLSearchParams(params).toString();

describe("twilioSignatureOf", () => {
  it("gives the signature in Twilio's helper-library tests", async () => {
    expect(await twilioSignatureOf(AUTH_TOKEN, URL_, callParams("+14158675309"))).toBe(
      "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
    );
  });

  it("gives the signature in the webhook-security page's snippet", async () => {
    expect(await twilioSignatureOf(AUTH_TOKEN, URL_, callParams("+14158675310"))).toBe(
      "GvWf1cFY/Q7PnoempGyD5oXAezc=",
    );
  });

  it("signs each distinct value of a repeated name, sorted, as Twilio's libraries do", async () => {
    const params: [string, string][] = [
      ["Sid", "CA123"],
      ["SidAccount", "AC123"],
      ["Digits", "5678"],
      ["Digits", "1234"],
      ["Digits", "1234"],
    ];
    expect(await twilioSignatureOf(AUTH_TOKEN, URL_, params)).toBe("IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  });
});

describe("isSignedByTwilio", () => {
  it("accepts the published example whatever order the form lists its parameters in", async () => {
    const reversed = formOf(callParams("+14158675309").reverse());
    expect(await isSignedByTwilio(AUTH_TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, reversed)).toBe(
      true,
    );
  });

  it("accepts repeated parameter names as posted in a form body", async () => {
    const body = "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
    expect(await isSignedByTwilio(AUTH_TOKEN, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", URL_, body)).toBe(
      true,
    );
  });

  it("rejects the published signature once a parameter is changed", async () => {
    const params = callParams("+14158675309");
    params[2] = ["Digits", "9999"];
    expect(
      await isSignedByTwilio(AUTH_TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", URL_, formOf(params)),
    ).toBe(false);
  });

  it("rejects the published signature under another auth token or another URL", async () => {
    const body = formOf(callParams("+14158675309"));
    const signature = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    expect(await isSignedByTwilio("54321", signature, URL_, body)).toBe(false);
    expect(await isSignedByTwilio(AUTH_TOKEN, signature, `${URL_}&baz=3`, body)).toBe(false);
  });

  it("accepts a signature Twilio made with the default port written out, and the reverse", async () => {
    const body = formOf(callParams("+14158675309"));
    // Twilio's libraries' vector for the same request signed as https://mycompany.com:443/...
    expect(await isSignedByTwilio(AUTH_TOKEN, "kvajT1Ptam85bY51eRf/AJRuM3w=", URL_, body)).toBe(
      true,
    );
    const withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    expect(await isSignedByTwilio(AUTH_TOKEN, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", withPort, body)).toBe(
      true,
    );
  });

  it("checks a JSON body against bodySHA256 and signs only the URL", async () => {
    const body = '{"property": "value", "boolean": true}';
    const url = `${URL_}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620`;
    const signature = "a9nBmqA0ju/hNViExpshrM61xv4=";
    expect(await isSignedByTwilio(AUTH_TOKEN, signature, url, body)).toBe(true);
    expect(await isSignedByTwilio(AUTH_TOKEN, signature, url, `${body} `)).toBe(false);
  });
});

describe("equalInConstantTime", () => {
  it("is true only for identical strings", () => {
    expect(
      equalInConstantTime("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
    ).toBe(true);
    expect(
      equalInConstantTime("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "RSOYDt4T1cUTdK1PDd93/VVr8B9="),
    ).toBe(false);
    expect(equalInConstantTime("RSOYDt4T1cUTdK1PDd93/VVr8B8=", "RSOYDt4T1cUTdK1PDd93/VVr8B8")).toBe(
      false,
    );
  });
});
