// The "max" metadata knows each country's number ranges; "min" only checks lengths and would
// accept numbers that cannot exist, such as +8612345678901.
import {
  isSupportedCountry,
  ParseError,
  type PhoneNumber,
  parsePhoneNumberWithError,
} from "libphonenumber-js/max";

export type PhoneError = { code: "invalid_phone_number" | "unsupported_country"; detail: string };

export type PhoneResult =
  | { ok: true; e164: string; country: string }
  | { ok: false; error: PhoneError };

// The longest E.164 number is 15 digits; 32 leaves room for "+", spaces and brackets.
const MAX_INPUT_LENGTH = 32;

// What people type around the digits: spaces, dashes, dots, brackets and slashes, in ASCII or
// full width (CJK keyboards). Letters are refused rather than skipped: libphonenumber would read
// "138abc" as "138", and take "ext. 5" as an extension, which a text message cannot reach.
const PHONE_CHARACTERS =
  /^[+\uff0b]?[0-9\uff10-\uff19\s\-\u2010-\u2015\u2212\uff0d.()\uff08\uff09/]+$/u;

const FULL_WIDTH_OFFSET = 0xfee0;

function fail(code: PhoneError["code"], detail: string): PhoneResult {
  return { ok: false, error: { code, detail } };
}

function toAscii(text: string): string {
  return text.replace(/[\uff10-\uff19\uff0b]/gu, (char) =>
    String.fromCharCode((char.codePointAt(0) ?? 0) - FULL_WIDTH_OFFSET),
  );
}

/**
 * Normalises a number to E.164. A number written with "+" or the "00" international prefix is
 * read as international; any other number as a national number of `homeCountry` (ISO 3166-1
 * alpha-2), whose own international prefix (011 in the US, 00 in China) is understood too.
 */
export function normalisePhone(input: string, homeCountry: string): PhoneResult {
  const trimmed = input.trim();
  if (trimmed === "") {
    return fail("invalid_phone_number", "the phone number is empty");
  }
  if (trimmed.length > MAX_INPUT_LENGTH) {
    return fail(
      "invalid_phone_number",
      `a phone number has at most ${MAX_INPUT_LENGTH} characters, this one has ${trimmed.length}`,
    );
  }
  if (!PHONE_CHARACTERS.test(trimmed)) {
    return fail(
      "invalid_phone_number",
      `"${trimmed}" is not a phone number: only digits, a leading +, spaces, dashes, dots, ` +
        "brackets and slashes are allowed",
    );
  }

  const text = toAscii(trimmed);
  const compact = text.replace(/[^0-9+]/g, "");
  const home = homeCountry.toUpperCase();
  const knownHome = isSupportedCountry(home) ? home : undefined;

  let parsed: PhoneNumber;
  try {
    if (compact.startsWith("+")) {
      parsed = parsePhoneNumberWithError(text);
    } else if (compact.startsWith("00")) {
      // 00 is the international prefix in most of the world, even where the home country
      // uses another one: people copy numbers in that form from everywhere.
      parsed = parsePhoneNumberWithError(`+${compact.slice(2)}`);
    } else if (knownHome === undefined) {
      return fail(
        "unsupported_country",
        `"${trimmed}" is a national number and its home country "${homeCountry}" is not supported`,
      );
    } else {
      parsed = parsePhoneNumberWithError(text, knownHome);
    }
  } catch (error) {
    if (error instanceof ParseError) {
      return failParse(error.message, trimmed);
    }
    throw error;
  }

  return checkNumber(parsed);
}

function failParse(reason: string, input: string): PhoneResult {
  switch (reason) {
    case "INVALID_COUNTRY":
      return fail("unsupported_country", `"${input}" does not start with a known country code`);
    case "TOO_SHORT":
      return fail("invalid_phone_number", `"${input}" is too short to be a phone number`);
    case "TOO_LONG":
      return fail("invalid_phone_number", `"${input}" is too long to be a phone number`);
    default:
      return fail("invalid_phone_number", `"${input}" is not a phone number`);
  }
}

function checkNumber(parsed: PhoneNumber): PhoneResult {
  if (!parsed.isValid()) {
    // Shared calling codes (+1, +44, +7) name no country for a number outside every range.
    const where = parsed.country ?? `country code +${parsed.countryCallingCode}`;
    return fail("invalid_phone_number", `${parsed.number} is not a valid number for ${where}`);
  }
  if (parsed.country === undefined) {
    // Valid, but global: +800 freephone, +882 networks and the like belong to no country, so
    // no country rule, price or route can apply to them.
    return fail(
      "unsupported_country",
      `${parsed.number} is a non-geographic number (+${parsed.countryCallingCode}), not a number ` +
        "in a country",
    );
  }
  return { ok: true, e164: parsed.number, country: parsed.country };
}

/** The country of a number already in E.164, as the send log holds them; null for none. */
export function countryOfE164(e164: string): string | null {
  const phone = normalisePhone(e164, "");
  return phone.ok ? phone.country : null;
}
