/** Reading a dashboard form post, where a malformed body is the sender's mistake, not ours. */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../lib/problem";

export type FormFields = Record<string, string | File | (string | File)[]>;

/**
 * The form's fields; a body that is not a readable form is a 400, never a 500. With `all`, a
 * field given more than once (checkboxes of one name) is the list of its values.
 */
export async function readForm(c: Context<AppEnv>, all = false): Promise<FormFields> {
  try {
    return await c.req.parseBody({ all });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError("validation-error", `The form could not be read: ${why}`, {
      errors: [{ pointer: "", detail: "malformed form body" }],
    });
  }
}

/** A refused form's messages by field name: `/to` → `to`, `/variables/name` → `variables.name`. */
export type FieldErrors = Readonly<Record<string, string>>;

/**
 * The field errors of a problem (ApiError's `errors`, the same JSON pointers the API returns),
 * keyed by the form field they belong to; the first message per field wins. A pointer to the
 * whole body ("") is not a field's: it stays in the problem's detail.
 */
export function fieldErrorsOf(error: ApiError): FieldErrors {
  const out: Record<string, string> = {};
  for (const { pointer, detail } of error.errors ?? []) {
    const name = pointer
      .split("/")
      .slice(1)
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .join(".");
    if (name && !(name in out)) {
      out[name] = detail;
    }
  }
  return out;
}

/** A form field's string value ("" when absent or a file). */
export const fieldOf = (form: FormFields, name: string): string =>
  typeof form[name] === "string" ? (form[name] as string) : "";
