/**
 * The tenant's VerificationLimiter writes verifications to D1 through an outbox its alarm flushes
 * at once: tests that read D1 run that alarm until the outbox is empty.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { verificationLimiterOf } from "../../src/delivery/verification-limiters";

/** What the tenant's limiter has yet to write to D1. */
export async function unflushed(tenantId: string): Promise<number> {
  return runInDurableObject(verificationLimiterOf(env, tenantId), (_, state) =>
    Number(state.storage.sql.exec("SELECT count(*) AS n FROM d1_outbox").one().n),
  );
}

/** Runs the limiter's alarm until D1 has everything it recorded (fails after `tries`). */
export async function flushVerifications(tenantId: string, tries = 50): Promise<void> {
  const stub = verificationLimiterOf(env, tenantId);
  for (let i = 0; i < tries; i++) {
    if ((await unflushed(tenantId)) === 0) {
      return;
    }
    if (!(await runDurableObjectAlarm(stub))) {
      // Already running by itself: give it a moment.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`verification limiter of ${tenantId}: outbox not flushed`);
}
