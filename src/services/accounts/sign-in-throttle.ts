/**
 * The dashboard's sign-in limits (domain/sign-in-throttle) kept in D1, so they hold across every
 * isolate: D1 runs one statement at a time, so a conditional insert is an atomic check-and-count
 * that parallel guesses cannot race past. A Durable Object could keep the counters too, but
 * sign-in is rare, off the hot path, and D1 needs no new object class; the rows are pruned by the
 * housekeeping cron.
 */
import { and, eq, lt } from "drizzle-orm";
import { database } from "../../db/client";
import { signInAttempts } from "../../db/schema";
import {
  ACCOUNT_FAILURE_LIMIT,
  ADDRESS_FAILURE_LIMIT,
  type RecentFailures,
  SIGN_IN_WINDOW_MS,
  signInWait,
  waitAfterFailures,
} from "../../domain/sign-in-throttle";
import { sha256Hex } from "../../lib/crypto";
import { ApiError } from "../../lib/problem";

export interface SignInSource {
  /** SHA-256 (hex) of the normalised email. */
  account: string;
  /** From domain/sign-in-throttle `signInAddress`. */
  address: string;
}

export async function signInSource(email: string, address: string): Promise<SignInSource> {
  return { account: await sha256Hex(email), address };
}

async function recentFailures(
  db: D1Database,
  source: SignInSource,
  now: number,
): Promise<RecentFailures> {
  const since = now - SIGN_IN_WINDOW_MS;
  const times = (column: "account" | "address", value: string, limit: number) =>
    db
      .prepare(
        `SELECT at FROM sign_in_attempts WHERE ${column} = ? AND at > ? ORDER BY at DESC LIMIT ?`,
      )
      .bind(value, since, limit);
  const [account, address] = await db.batch<{ at: number }>([
    times("account", source.account, ACCOUNT_FAILURE_LIMIT),
    times("address", source.address, ADDRESS_FAILURE_LIMIT),
  ]);
  const ascending = (rows: { at: number }[] | undefined) =>
    (rows ?? []).map((row) => row.at).reverse();
  return { account: ascending(account?.results), address: ascending(address?.results) };
}

function refusal(waitMs: number): ApiError {
  // Whole seconds, rounded up, so a client that waits that long gets through.
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new ApiError(
    "rate-limited",
    `Too many wrong passwords for this account or from this address; try again in ${seconds} s.`,
    { headers: { "Retry-After": String(seconds) } },
  );
}

/**
 * Counts an attempt as a failure before its password is checked (`forgiveAttempt` takes it back
 * when the password was right), or throws the 429 that refuses it.
 */
export async function reserveAttempt(
  db: D1Database,
  source: SignInSource,
  now: number,
): Promise<void> {
  const failures = await recentFailures(db, source, now);
  const wait = signInWait(failures, now);
  if (wait > 0) {
    throw refusal(wait);
  }
  // The same rules again, inside the insert: an attempt racing this one counts here.
  const reserved = await db
    .prepare(
      `INSERT INTO sign_in_attempts (account, address, at)
       SELECT ?1, ?2, ?3
       WHERE (SELECT count(*) FROM sign_in_attempts WHERE account = ?1 AND at > ?4) < ?5
         AND (SELECT count(*) FROM sign_in_attempts WHERE address = ?2 AND at > ?4) < ?6
         AND NOT EXISTS (SELECT 1 FROM sign_in_attempts WHERE account = ?1 AND at > ?7)
       RETURNING id`,
    )
    .bind(
      source.account,
      source.address,
      now,
      now - SIGN_IN_WINDOW_MS,
      ACCOUNT_FAILURE_LIMIT,
      ADDRESS_FAILURE_LIMIT,
      now - waitAfterFailures(failures.account.length),
    )
    .first<{ id: number }>();
  if (!reserved) {
    throw refusal(Math.max(1000, signInWait(await recentFailures(db, source, now), now)));
  }
}

/**
 * The password was right: the attempt is no failure, and neither are the account's earlier
 * failures from the same address (the person who knows the password made them, most likely).
 * Failures from other addresses still count: a success here must not reset someone else's
 * guessing.
 */
export async function forgiveAttempt(db: D1Database, source: SignInSource): Promise<void> {
  await database(db)
    .delete(signInAttempts)
    .where(
      and(eq(signInAttempts.account, source.account), eq(signInAttempts.address, source.address)),
    );
}

/** Attempts that no longer count. */
export async function pruneSignInAttempts(db: D1Database, now: number): Promise<void> {
  await database(db)
    .delete(signInAttempts)
    .where(lt(signInAttempts.at, now - SIGN_IN_WINDOW_MS));
}
