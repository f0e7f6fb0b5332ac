import { platformShardOf } from "../domain/verification-limits";

// Typed through the generated Env (its bindings name the classes), so this layer does not import
// the objects it calls.
export type VerificationLimiterStub = ReturnType<Env["VERIFICATION_LIMITER"]["get"]>;
export type PlatformNumberLimiterStub = ReturnType<Env["PLATFORM_NUMBER_LIMITER"]["get"]>;

/**
 * The tenant's verification limiter for one mode; the name is derived from our own id, never user
 * input. Test keys have an object of their own: their codes (sandbox only) are counted, limited and
 * held apart, so nothing a test key does touches a live code, count or conversion.
 */
export function verificationLimiterOf(
  env: Env,
  tenantId: string,
  mode: "live" | "test",
): VerificationLimiterStub {
  const namespace = env.VERIFICATION_LIMITER;
  return namespace.get(
    namespace.idFromName(mode === "live" ? `tenant:${tenantId}` : `tenant:${tenantId}:test`),
  );
}

/** The shard that counts a phone number's codes from every tenant (named by a hash, not by it). */
export function platformNumberLimiterOf(env: Env, e164: string): PlatformNumberLimiterStub {
  const namespace = env.PLATFORM_NUMBER_LIMITER;
  return namespace.get(namespace.idFromName(`verification-numbers:${platformShardOf(e164)}`));
}
