/** A TenantDispatcher whose queue only records what it is given, for dispatcher tests. */
import { env, runInDurableObject } from "cloudflare:test";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import type { AcceptRequest, OutboxMessage } from "../../src/delivery/dispatcher-types";
import type { DispatchJob } from "../../src/delivery/payloads";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { createTenant } from "./tenants";

type DispatchBinding = "DISPATCH_QUEUE" | "BULK_DISPATCH_QUEUE";

/**
 * The dispatch queues (both lanes') that only record what they are given, so nothing is consumed
 * behind the test's back: `sent` and `jobs` in the order they were queued, whichever the queue,
 * and `sentTo` per binding.
 */
class RecordingQueue {
  /** The message ids, in the order they were queued. */
  readonly sent: string[] = [];
  /** The jobs themselves, for tests that hand them to the consumer. */
  readonly jobs: DispatchJob[] = [];
  /** The message ids each queue was given. */
  readonly sentTo: Record<DispatchBinding, string[]> = {
    DISPATCH_QUEUE: [],
    BULK_DISPATCH_QUEUE: [],
  };

  /** The queue to bind as `binding`. */
  as(binding: DispatchBinding) {
    return {
      send: async (): Promise<void> => {
        throw new Error("the dispatcher sends in batches");
      },
      sendBatch: async (jobs: Iterable<MessageSendRequest<DispatchJob>>): Promise<void> => {
        for (const job of jobs) {
          this.sent.push(job.body.message_id);
          this.jobs.push(job.body);
          this.sentTo[binding].push(job.body.message_id);
        }
      },
    };
  }
}

/**
 * `manualClock`: the dispatcher's clock stands still until the test moves it with `advance(ms)`,
 * so what a rate allows is exact however slow the machine is (its own alarm may still run between
 * the test's steps, but in the test's time it earns nothing).
 */
export async function isolatedDispatcher(sendRate = 50, options: { manualClock?: boolean } = {}) {
  const tenant = await createTenant({ sendRate });
  const stub = dispatcherOf(env, tenant.id);
  const queue = new RecordingQueue();
  // A minute ahead of the wall clock, so the messages the test makes are never in its future.
  let now = Date.now() + 60_000;
  await runInDurableObject(stub, (instance: TenantDispatcher) => {
    Object.defineProperty(instance, "env", {
      value: {
        ...env,
        DISPATCH_QUEUE: queue.as("DISPATCH_QUEUE"),
        BULK_DISPATCH_QUEUE: queue.as("BULK_DISPATCH_QUEUE"),
      },
    });
    if (options.manualClock) {
      Object.defineProperty(instance, "clock", { value: () => now });
    }
  });
  const advance = (ms: number) => {
    now += ms;
  };
  const accept = (message: OutboxMessage, idempotencyKey?: string, hash = "h1") =>
    stub.accept(acceptRequest(message, idempotencyKey, hash));
  const runAlarm = () => runInDurableObject(stub, (instance: TenantDispatcher) => instance.alarm());
  const sql = <T extends Record<string, SqlStorageValue>>(
    query: string,
    ...args: SqlStorageValue[]
  ) =>
    runInDurableObject(stub, (_instance: TenantDispatcher, state) =>
      state.storage.sql.exec<T>(query, ...args).toArray(),
    );
  return { tenant, stub, queue, accept, runAlarm, sql, advance, now: () => now };
}

/** `settingsVersion`: the tenant's settings the message was composed under (none changed: 0). */
export function acceptRequest(
  message: OutboxMessage,
  idempotencyKey: string | undefined,
  requestHash: string,
  settingsVersion = 0,
): AcceptRequest {
  return {
    message,
    idempotency: idempotencyKey ? { key: idempotencyKey, requestHash } : null,
    currency: "USD",
    settingsVersion,
  };
}
