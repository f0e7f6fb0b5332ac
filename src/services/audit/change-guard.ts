/**
 * For an audited batch whose change is conditional (a review step from the status it read, an
 * update of a key that a revocation may have overtaken): a statement placed right after the
 * conditional write fails the whole batch, the entry with it, when that write changed no row. So a
 * lost race leaves no entry for a change that never happened.
 */
import { sql } from "drizzle-orm";
import { database } from "../../db/client";

/** `json()` of text that is not JSON is an error, and SQLite has no other way to raise one. */
const LOST = "audited change lost its race";

export function failUnlessChanged(env: Env) {
  return database(env.DB).run(sql.raw(`SELECT CASE WHEN changes() = 0 THEN json('${LOST}') END`));
}

/** Whether a batch failed because its guarded write changed nothing. */
export function lostRace(error: unknown): boolean {
  return /malformed JSON/.test(String(error));
}

/** Runs an audited batch with a guard; a lost race becomes `lost()` (a 404 or a 409). */
export async function unlessLost<T>(batch: Promise<T>, lost: () => Error): Promise<T> {
  try {
    return await batch;
  } catch (error) {
    if (lostRace(error)) {
      throw lost();
    }
    throw error;
  }
}
