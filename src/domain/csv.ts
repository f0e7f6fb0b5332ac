/**
 * CSV as spreadsheets read it (RFC 4180): cells quoted when they hold a comma, a quote or a line
 * break, quotes doubled, rows ended by CRLF. Free text that a spreadsheet would run as a formula
 * (a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return: OWASP's "CSV injection")
 * is written with a leading `'`, which Excel and LibreOffice show as text and do not evaluate.
 * Phone numbers in E.164 start with `+` and are written exactly as they are.
 */

/** The UTF-8 byte order mark: Excel reads a CSV as UTF-8 only when the file starts with it. */
export const UTF8_BOM = "\uFEFF";

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;
const E164 = /^\+[1-9][0-9]{5,14}$/;

/** How a column's values are written: text is guarded against formulas, a phone column's E.164 is not. */
export type CsvColumnKind = "text" | "phone";

export type CsvValue = string | number | boolean | null | undefined;

/** One cell: empty for null, numbers as they are, text guarded and quoted as needed. */
export function csvCell(value: CsvValue, kind: CsvColumnKind = "text"): string {
  if (value === null || value === undefined) {
    return "";
  }
  if (typeof value !== "string") {
    return String(value);
  }
  const guarded =
    FORMULA_START.test(value) && !(kind === "phone" && E164.test(value)) ? `'${value}` : value;
  return NEEDS_QUOTES.test(guarded) ? `"${guarded.replaceAll('"', '""')}"` : guarded;
}

/** One row, CRLF-terminated. */
export function csvRow(cells: readonly string[]): string {
  return `${cells.join(",")}\r\n`;
}
