/**
 * The tenant's VerificationLimiter writes verifications to D1 through an outbox its alarm flushes
 * at once: tests that read D1 run that alarm until the outbox is empty.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { verificationLimiterOf } from "../../src/delivery/verification-limiters";

type Mode = "live" | "test";

/** What the tenant's limiter for `mode` has yet to write to D1. */
export async function unflushed(tenantId: string, mode: Mode = "test"): Promise<number> {
  return runInDurableObject(verificationLimiterOf(env, tenantId, mode), (_, state) =>
    Number(state.storage.sql.exec("SELECT count(*) AS n FROM d1_outbox").one().n),
  );
}

/**
 * Runs the limiters' alarms (each mode has its own limiter) until D1 has everything they
 * recorded (fails after `tries`).
 */
export async function flushVerifications(tenantId: string, tries = 50): Promise<void> {
  for (const mode of ["test", "live"] as const) {
    await flushMode(tenantId, mode, tries);
  }
}

async function flushMode(tenantId: string, mode: Mode, tries: number): Promise<void> {
  const stub = verificationLimiterOf(env, tenantId, mode);
  for (let i = 0; i < tries; i++) {
    if ((await unflushed(tenantId, mode)) === 0) {
      return;
    }
    if (!(await runDurableObjectAlarm(stub))) {
      // Already running by itself: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`verification limiter of ${tenantId} (${mode}): outbox not flushed`);
}
