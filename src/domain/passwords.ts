/**
 * What a user's password must be (NIST SP 800-63B §5.1.1.2: a length floor, no composition rules,
 * and a check against passwords known to be common). Only length and the checks below: never a
 * rule about digits or symbols. The password itself is never logged nor echoed back.
 */

export const PASSWORD_MIN_LENGTH = 12;
/** PBKDF2 hashes any length, but a megabyte of "password" is a cheap way to burn our CPU. */
export const PASSWORD_MAX_LENGTH = 200;

/**
 * A small list of the most common passwords of 12 characters or more (from the public breach
 * corpora's top lists, e.g. SecLists' 10-million list), compared case-insensitively. Shorter ones
 * are refused by the length rule already.
 */
const COMMON_PASSWORDS = new Set([
  "123456789012",
  "1234567890123",
  "12345678901234",
  "123123123123",
  "111111111111",
  "000000000000",
  "qwertyuiopas",
  "qwertyuiop123",
  "qwerty123456",
  "1q2w3e4r5t6y",
  "1qaz2wsx3edc",
  "password1234",
  "password12345",
  "password123456",
  "passwordpassword",
  "iloveyou1234",
  "welcome12345",
  "administrator",
  "adminadmin123",
  "letmein12345",
  "changeme1234",
  "abcdefghijkl",
  "abc123456789",
  "aaaaaaaaaaaa",
  "baseball1234",
  "football1234",
  "sunshine1234",
  "princess1234",
  "superman1234",
  "trustno1trustno1",
  "correcthorsebatterystaple",
  "relaybox1234",
  "relayboxrelaybox",
]);

/** Why a password is refused, or null when it is acceptable. */
export function passwordProblem(password: string, email: string): string | null {
  // Code points, not UTF-16 units: an emoji is one character to the person typing it.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return `must be at least ${PASSWORD_MIN_LENGTH} characters`;
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
  }
  const folded = password.trim().toLowerCase();
  if (COMMON_PASSWORDS.has(folded) || COMMON_PASSWORDS.has(folded.replace(/\s+/g, ""))) {
    return "is one of the most common passwords; choose another";
  }
  const address = email.trim().toLowerCase();
  if (folded === address || folded === address.split("@")[0]) {
    return "must not be your email address";
  }
  return null;
}
