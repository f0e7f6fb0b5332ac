/**
 * Reconcile before resend: a claimed message whose last attempt got no answer goes back to the
 * same provider (domain/routing), which may have it already. When the provider's adapter has
 * `lookup`, it is asked first: found, the message is recorded as sent under the provider's id and
 * not sent again; absent, it is sent as usual; cannot tell (or the lookup threw), it is sent again
 * as it was before lookups, which may be a second copy, and the batch's log line counts it. Only
 * messages pinned by an unknown outcome are looked up, which are rare: no D1 read is added (the
 * unknown attempt comes with the plan's read of earlier attempts).
 */
import type {
  AdapterIO,
  LookupOutcome,
  OutboundAdapter,
  OutboundRequest,
  ProviderSettings,
} from "../channels/adapter";
import type { Logger } from "../lib/log";
import type { Plan } from "./delivery-plan";

/** What a lookup said, or that it threw (a bug, or a provider answer it could not handle). */
export type Reconciliation = LookupOutcome | { kind: "threw"; reason: string };

/**
 * The lookup for a message, or null, at once, when none applies (not pinned, or no `lookup`): the
 * caller then sends in the same turn, which the gathering sender counts on (send-many.ts).
 */
export function reconcile(
  adapter: OutboundAdapter,
  request: OutboundRequest,
  plan: Extract<Plan, { provider: string }>,
  settings: ProviderSettings,
  io: AdapterIO,
): Promise<Reconciliation> | null {
  const { unanswered } = plan;
  if (!plan.pinned || unanswered === null || !adapter.lookup) {
    return null;
  }
  const lookup = adapter.lookup.bind(adapter);
  return (async (): Promise<Reconciliation> => {
    try {
      return await lookup(request, unanswered, settings, io);
    } catch (error) {
      return { kind: "threw", reason: String(error) };
    }
  })();
}

/** One line per batch that looked anything up: how each came out, and why some were resent. */
export function logReconciliations(
  log: Logger,
  looked: { messageId: string; provider: string; reconciliation: Reconciliation }[],
): void {
  if (looked.length === 0) {
    return;
  }
  const count = (kind: Reconciliation["kind"]) =>
    looked.filter(({ reconciliation }) => reconciliation.kind === kind).length;
  const unsure = looked.flatMap(({ messageId, provider, reconciliation }) =>
    reconciliation.kind === "cannot_tell" || reconciliation.kind === "threw"
      ? [
          {
            message_id: messageId,
            provider,
            outcome: reconciliation.kind,
            reason: reconciliation.reason,
          },
        ]
      : [],
  );
  const fields = {
    found: count("found"),
    absent: count("absent"),
    cannot_tell: count("cannot_tell"),
    threw: count("threw"),
    resent_unsure: unsure.length,
    unsure: unsure.slice(0, 10),
  };
  if (unsure.length > 0) {
    log.warn(
      "dispatch: looked up before resending; some could not tell and were sent again",
      fields,
    );
  } else {
    log.info("dispatch: looked up before resending", fields);
  }
}
