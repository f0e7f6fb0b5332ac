/** Reading a dashboard form post, where a malformed body is the sender's mistake, not ours. */
import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import { ApiError } from "../lib/problem";

export type FormFields = Record<string, string | File | (string | File)[]>;

/** The form's fields; a body that is not a readable form is a 400, never a 500. */
export async function readForm(c: Context<AppEnv>): Promise<FormFields> {
  try {
    return await c.req.parseBody({ all: false });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ApiError("validation-error", `The form could not be read: ${why}`, {
      errors: [{ pointer: "", detail: "malformed form body" }],
    });
  }
}
