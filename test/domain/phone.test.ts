import { describe, expect, it } from "vitest";
import { normalisePhone } from "../../src/domain/phone";

describe("normalisePhone", () => {
  it("reads a number without a prefix as national to the home country", () => {
    expect(normalisePhone("13800138000", "CN")).toEqual({
      ok: true,
      e164: "+8613800138000",
      country: "CN",
    });
  });

  it("reads a UK mobile number written nationally", () => {
    expect(normalisePhone("07400 123456", "GB")).toEqual({
      ok: true,
      e164: "+447400123456",
      country: "GB",
    });
  });

  it("reads a number with + as international whatever the home country", () => {
    expect(normalisePhone("+1 (202) 555-0123", "CN")).toEqual({
      ok: true,
      e164: "+12025550123",
      country: "US",
    });
    expect(normalisePhone("+86 138 0013 8000", "GB")).toEqual({
      ok: true,
      e164: "+8613800138000",
      country: "CN",
    });
  });

  it("reads a number with the 00 prefix as international", () => {
    expect(normalisePhone("0044 7400 123456", "CN")).toMatchObject({
      ok: true,
      e164: "+447400123456",
    });
    // 00 is not the US international prefix, but people copy numbers written that way.
    expect(normalisePhone("00 86 138 0013 8000", "US")).toMatchObject({
      ok: true,
      e164: "+8613800138000",
    });
  });

  it("understands the home country's own international prefix", () => {
    expect(normalisePhone("011 44 7400 123456", "US")).toMatchObject({
      ok: true,
      e164: "+447400123456",
      country: "GB",
    });
  });

  it("names the country that owns the number range, which may differ within a calling code", () => {
    expect(normalisePhone("+1 613 555 0123", "US")).toMatchObject({ ok: true, country: "CA" });
    // 07911 12xxxx is a Guernsey range inside +44.
    expect(normalisePhone("+44 7911 123456", "GB")).toMatchObject({ ok: true, country: "GG" });
  });

  it("accepts full-width digits typed on a CJK keyboard", () => {
    expect(normalisePhone("＋８６ １３８００１３８０００", "US")).toMatchObject({
      ok: true,
      e164: "+8613800138000",
    });
    expect(normalisePhone("１３８-００１３-８０００", "CN")).toMatchObject({
      ok: true,
      e164: "+8613800138000",
    });
  });

  it("accepts a home country in lower case", () => {
    expect(normalisePhone("13800138000", "cn")).toMatchObject({ ok: true, country: "CN" });
  });

  it("refuses a number of the right length that is not valid for its country", () => {
    expect(normalisePhone("+8612345678901", "CN")).toEqual({
      ok: false,
      error: {
        code: "invalid_phone_number",
        detail: "+8612345678901 is not a valid number for CN",
      },
    });
  });

  it("refuses the UK range reserved for drama, which no phone can have", () => {
    expect(normalisePhone("07700 900123", "GB")).toEqual({
      ok: false,
      error: {
        code: "invalid_phone_number",
        detail: "+447700900123 is not a valid number for GB",
      },
    });
  });

  it("refuses text that is not a phone number", () => {
    for (const input of ["hello", "138abc", "+86 138 0013 8000 ext 5", "1380013800#"]) {
      expect(normalisePhone(input, "CN"), input).toMatchObject({
        ok: false,
        error: { code: "invalid_phone_number" },
      });
    }
  });

  it("refuses an empty number", () => {
    for (const input of ["", "   "]) {
      expect(normalisePhone(input, "CN")).toEqual({
        ok: false,
        error: { code: "invalid_phone_number", detail: "the phone number is empty" },
      });
    }
  });

  it("refuses input longer than 32 characters", () => {
    const input = "+86 (138) 0013 - 8000 / 0000 0000";
    expect(input.length).toBe(33);
    expect(normalisePhone(input, "CN")).toMatchObject({
      ok: false,
      error: { code: "invalid_phone_number", detail: expect.stringContaining("at most 32") },
    });
  });

  it("refuses numbers too short or too long for any country", () => {
    expect(normalisePhone("+86 1", "CN")).toMatchObject({
      ok: false,
      error: { code: "invalid_phone_number" },
    });
    expect(normalisePhone("12345", "CN")).toMatchObject({
      ok: false,
      error: { code: "invalid_phone_number" },
    });
    expect(normalisePhone("+86 1380013800012345678", "CN")).toMatchObject({
      ok: false,
      error: { code: "invalid_phone_number" },
    });
  });

  it("refuses a calling code that belongs to no country", () => {
    expect(normalisePhone("+999 123 4567", "CN")).toMatchObject({
      ok: false,
      error: { code: "unsupported_country" },
    });
    // +800 is the international freephone code: valid, but in no country.
    expect(normalisePhone("+800 1234 5678", "CN")).toMatchObject({
      ok: false,
      error: { code: "unsupported_country" },
    });
  });

  it("refuses a national number when the home country is unknown", () => {
    expect(normalisePhone("13800138000", "XX")).toMatchObject({
      ok: false,
      error: { code: "unsupported_country" },
    });
    expect(normalisePhone("+8613800138000", "XX")).toMatchObject({
      ok: true,
      e164: "+8613800138000",
    });
  });
});
