/** How Aliyun's SMS API writes a phone number and a time (SendSms, QuerySendDetails). */

/**
 * SendSms's `PhoneNumbers`: a mainland number may go bare (the documentation also allows +86,
 * 0086 or 86 in front), any other number as country code and number with no `+` (`852…`).
 * Null for anything that is not E.164.
 */
export function aliyunPhoneNumber(e164: string): string | null {
  if (!/^\+[1-9]\d{5,14}$/.test(e164)) {
    return null;
  }
  // Country codes are prefix-free, so +86 followed by anything is the Chinese mainland.
  return e164.startsWith("+86") ? e164.slice(3) : e164.slice(1);
}

/** Aliyun wants ISO 8601 in UTC to the second (`2017-07-12T02:42:19Z`), no milliseconds. */
export function aliyunTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}
