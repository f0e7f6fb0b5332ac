/**
 * A batch's recipients as rows: from its JSON list, or from its CSV text (header
 * `to,<variable>…`), where a line that cannot be a row is rejected with its reason rather than
 * failing the batch.
 */
import { csvParseRows } from "d3-dsv";
import { ApiError } from "../../lib/problem";

export interface BatchRecipient {
  to: string;
  variables?: Record<string, unknown>;
}

export interface Rejection {
  /** 1-based: the recipient's position, or the CSV line (the header is line 1). */
  row: number;
  reason: string;
}

interface Row {
  row: number;
  to: string;
  variables: Record<string, unknown>;
}

/** The recipients as rows, from the JSON list or the CSV text (header `to,<variable>…`). */
export function recipientRows(input: { recipients?: BatchRecipient[]; csv?: string }): {
  rows: Row[];
  rejected: Rejection[];
} {
  if (input.recipients) {
    return {
      rows: input.recipients.map((r, i) => ({
        row: i + 1,
        to: r.to,
        variables: r.variables ?? {},
      })),
      rejected: [],
    };
  }
  const lines = csvParseRows(input.csv ?? "");
  const header = (lines[0] ?? []).map((name) => name.trim());
  if (header[0]?.toLowerCase() !== "to") {
    throw new ApiError(
      "validation-error",
      'The CSV must start with a header row "to,<variable>…".',
      {
        errors: [{ pointer: "/csv", detail: 'the first column of the header must be "to"' }],
      },
    );
  }
  const names = header.slice(1);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) {
    throw new ApiError("validation-error", `The CSV header names "${duplicate}" twice.`, {
      errors: [{ pointer: "/csv", detail: `duplicate column "${duplicate}"` }],
    });
  }
  const rows: Row[] = [];
  const rejected: Rejection[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i] ?? [];
    if (cells.length === 1 && cells[0]?.trim() === "") {
      continue; // a blank line
    }
    if (cells.length !== header.length) {
      rejected.push({
        row: i + 1,
        reason: `has ${cells.length} columns; the header has ${header.length}`,
      });
      continue;
    }
    const variables: Record<string, string> = {};
    names.forEach((name, n) => {
      variables[name] = cells[n + 1] ?? "";
    });
    rows.push({ row: i + 1, to: (cells[0] ?? "").trim(), variables });
  }
  return { rows, rejected };
}
