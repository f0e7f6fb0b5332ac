// 3GPP TS 23.038 §6.2.1, the GSM 7-bit default alphabet in code order, 16 codes a line.
// 0x1B is ESC, the switch to the extension table: it is no character of its own.
//
// Code 0x09 is the capital Ç, as 23.038 draws it and as Twilio's segment calculator maps it.
// Unicode's GSM0338.TXT maps it to the small ç instead ("the language coverage intent is
// clearly for the lowercase c-cedilla"); we follow the specification, so ç forces UCS-2.
export const BASIC_TABLE =
  "@£$¥èéùìòÇ\nØø\rÅå" +
  "Δ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ" +
  " !\"#¤%&'()*+,-./" +
  "0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNO" +
  "PQRSTUVWXYZÄÖÑÜ§" +
  "¿abcdefghijklmno" +
  "pqrstuvwxyzäöñüà";

// 3GPP TS 23.038 §6.2.1.1, the default extension table: each is sent as ESC + code, 2 septets.
// The table's other codes are reserved (0x0D, 0x1B) or left to national tables, which we do not
// use: a receiver that does not know a code shows the basic table's character instead.
export const EXTENSION_TABLE = "\f^{}\\[~]|€";

const ESCAPE = 0x1b;

/**
 * Septets per UTF-16 code unit below `SEPTET_LIMIT`: 1 for the basic table, 2 for the extension
 * table, 0 for anything that is not in the alphabet. Every character of both tables is one code
 * unit, and € (U+20AC) is the highest.
 */
export const SEPTETS = new Uint8Array(0x20ad);
export const SEPTET_LIMIT = SEPTETS.length;

for (let code = 0; code < BASIC_TABLE.length; code += 1) {
  if (code !== ESCAPE) {
    SEPTETS[BASIC_TABLE.charCodeAt(code)] = 1;
  }
}
for (let index = 0; index < EXTENSION_TABLE.length; index += 1) {
  SEPTETS[EXTENSION_TABLE.charCodeAt(index)] = 2;
}

/** Septets the code unit costs in GSM-7, or 0 when it has no place in the alphabet. */
export function septetsOf(unit: number): number {
  return unit < SEPTET_LIMIT ? (SEPTETS[unit] ?? 0) : 0;
}

export function isGsm7(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    if (septetsOf(text.charCodeAt(index)) === 0) {
      return false;
    }
  }
  return true;
}
