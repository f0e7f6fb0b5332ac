/**
 * Gathers the sends of one consumer batch that a provider can take in one call (same tenant, same
 * provider template: Aliyun's SendBatchSms) and makes that call; every other send goes alone. The
 * consumer starts all its sends in the same turn, so a group is complete when the turn ends.
 */
import type {
  AdapterIO,
  OutboundAdapter,
  OutboundRequest,
  ProviderSettings,
  SendOutcome,
} from "../channels/adapter";

interface Pending {
  request: OutboundRequest;
  resolve: (outcome: SendOutcome) => void;
}

/** An adapter that throws may have sent already: that is an unknown outcome, not a failure. */
function unknown(error: unknown): SendOutcome {
  return { kind: "unknown", reason: `the provider call threw: ${String(error)}` };
}

export function gatheringSender(io: AdapterIO) {
  const groups = new Map<
    string,
    { adapter: OutboundAdapter; settings: ProviderSettings; pending: Pending[] }
  >();

  async function flush(key: string): Promise<void> {
    const group = groups.get(key);
    groups.delete(key);
    if (!group) {
      return;
    }
    const { adapter, settings, pending } = group;
    const size = adapter.maxPerCall ?? 1;
    for (let i = 0; i < pending.length; i += size) {
      const chunk = pending.slice(i, i + size);
      let outcomes: SendOutcome[];
      try {
        outcomes =
          chunk.length === 1 || !adapter.sendMany
            ? await Promise.all(
                chunk.map((p) => adapter.send(p.request, settings, io).catch(unknown)),
              )
            : await adapter.sendMany(
                chunk.map((p) => p.request),
                settings,
                io,
              );
      } catch (error) {
        outcomes = chunk.map(() => unknown(error));
      }
      chunk.forEach((p, n) => {
        p.resolve(outcomes[n] ?? unknown("no outcome for this message"));
      });
    }
  }

  /** `groupKey` null: a send of its own. */
  return function send(
    adapter: OutboundAdapter,
    request: OutboundRequest,
    settings: ProviderSettings,
    groupKey: string | null,
  ): Promise<SendOutcome> {
    if (groupKey === null || !adapter.sendMany) {
      return adapter.send(request, settings, io).catch(unknown);
    }
    return new Promise((resolve) => {
      const group = groups.get(groupKey);
      if (group) {
        group.pending.push({ request, resolve });
        return;
      }
      groups.set(groupKey, { adapter, settings, pending: [{ request, resolve }] });
      // Every send of this batch starts in this turn; the group is complete after it.
      queueMicrotask(() => {
        void flush(groupKey);
      });
    });
  };
}
