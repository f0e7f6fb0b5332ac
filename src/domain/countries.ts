import { isSupportedCountry } from "libphonenumber-js/max";

/** An ISO 3166 alpha-2 code that has phone numbers (what home and allowed countries must be). */
export function isPhoneCountry(code: string): boolean {
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code);
}
