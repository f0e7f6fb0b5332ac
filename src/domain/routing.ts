/**
 * Routing: which providers may send a message, and in what order.
 *
 * A tenant's rules map a destination (an ISO country such as `CN`, or an E.164 prefix such as
 * `+8613`; the longest prefix wins over the country) to providers with a priority (1 first) and a
 * weight. Within one priority the weights decide who goes first, by a draw seeded with the message
 * id, so every attempt of one message sees the same order while traffic splits by weight.
 */

export interface RouteProvider<P extends string = string> {
  provider: P;
  priority: number;
  weight: number;
}

export interface RouteRule<P extends string = string> {
  destination: string;
  providers: RouteProvider<P>[];
}

/** Without a rule, every provider set up is a candidate, in this order. */
export const DEFAULT_PROVIDER_ORDER = ["twilio", "aliyun", "tencent", "sandbox"] as const;

const PREFIX = /^\+\d{1,14}$/;
const COUNTRY = /^[A-Z]{2}$/;

export function isDestination(value: string): boolean {
  return PREFIX.test(value) || COUNTRY.test(value);
}

/** The rule for a number: the longest matching prefix, else its country's, else null. */
export function ruleFor<P extends string>(
  rules: readonly RouteRule<P>[],
  e164: string,
  country: string,
): RouteRule<P> | null {
  let best: RouteRule<P> | null = null;
  for (const rule of rules) {
    if (
      rule.destination.startsWith("+") &&
      e164.startsWith(rule.destination) &&
      rule.destination.length > (best?.destination.length ?? 0)
    ) {
      best = rule;
    }
  }
  return best ?? rules.find((rule) => rule.destination === country) ?? null;
}

/** FNV-1a: a small, stable hash of the message id for the weighted draw. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The providers in the order to try them for one message. */
export function providerOrder<P extends string>(rule: RouteRule<P>, seed: string): P[] {
  const priorities = [...new Set(rule.providers.map((p) => p.priority))].sort((a, b) => a - b);
  const order: P[] = [];
  let draw = hash(seed);
  for (const priority of priorities) {
    const pool = rule.providers.filter((p) => p.priority === priority);
    while (pool.length > 0) {
      const total = pool.reduce((sum, p) => sum + Math.max(0, p.weight), 0);
      let pick = 0;
      if (total > 0) {
        let point = draw % total;
        draw = hash(`${seed}:${draw}`);
        while (point >= Math.max(0, pool[pick]?.weight ?? 0)) {
          point -= Math.max(0, pool[pick]?.weight ?? 0);
          pick += 1;
        }
      }
      const [chosen] = pool.splice(pick, 1);
      if (chosen) {
        order.push(chosen.provider);
      }
    }
  }
  return order;
}

/**
 * What the earlier attempts say about the next one: the last attempt, except that once any
 * attempt got no answer, that attempt's provider (`outcome: "unknown"`) for good, whatever came
 * after it: the message may be at that carrier already.
 */
export type LastAttempt<P extends string> = { provider: P; outcome: string } | null;

/** The `LastAttempt` of a message's earlier attempts, in any order. */
export function lastAttemptOf<P extends string>(
  attempts: readonly { attempt: number; provider: P; outcome: string }[],
): LastAttempt<P> {
  const latest = (list: readonly { attempt: number; provider: P; outcome: string }[]) =>
    list.reduce<(typeof list)[number] | undefined>(
      (best, a) => (best === undefined || a.attempt > best.attempt ? a : best),
      undefined,
    );
  const unanswered = latest(attempts.filter((a) => a.outcome === "unknown"));
  const last = unanswered ?? latest(attempts);
  return last ? { provider: last.provider, outcome: last.outcome } : null;
}

/**
 * The provider for the next attempt, given the candidates in order and the last attempt:
 * after an unknown outcome (the request may have been delivered) the same provider again and no
 * other, ever; after a retryable failure the next candidate after it (wrapping around);
 * otherwise the first. `usable` says whether a provider may be called now (its circuit is not
 * open).
 */
export function nextProvider<P extends string>(
  candidates: readonly P[],
  last: LastAttempt<P>,
  usable: (provider: P) => boolean,
): { provider: P } | { provider: null; reason: string; permanent: boolean } {
  if (candidates.length === 0) {
    return { provider: null, reason: "no provider can send this message", permanent: true };
  }
  if (last?.outcome === "unknown") {
    if (!candidates.includes(last.provider)) {
      return {
        provider: null,
        permanent: true,
        reason: `${last.provider} may have sent it (an attempt got no answer) and can no longer be used; not sending it through another provider`,
      };
    }
    return usable(last.provider)
      ? { provider: last.provider }
      : {
          provider: null,
          permanent: false,
          reason: `${last.provider} may have sent it (an attempt got no answer) and is unavailable; waiting for it rather than risking a second send`,
        };
  }
  const start = last && last.outcome === "retryable" ? candidates.indexOf(last.provider) + 1 : 0;
  for (let step = 0; step < candidates.length; step++) {
    const index = (start + step) % candidates.length;
    const provider = candidates[index];
    if (provider !== undefined && usable(provider)) {
      return { provider };
    }
  }
  return {
    provider: null,
    permanent: false,
    reason: "every provider for this message is unavailable (circuit open)",
  };
}
