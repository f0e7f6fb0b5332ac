/**
 * A batch POST retried with its Idempotency-Key after something failed between the batch's commit
 * and the stored answer: never a second batch, never a second message to anyone.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import type { Caller } from "../../src/domain/caller";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { ApiError } from "../../src/lib/problem";
import { loadTenant } from "../../src/services/accounts/tenants";
import { acceptBatch, type BatchInput } from "../../src/services/messaging/batches";
import { CLAIM_LEASE_MS } from "../../src/services/messaging/idempotency";
import { callWithEnv, flakyD1, storesIdempotentAnswer } from "../support/flaky";
import { expectProblem } from "../support/problem";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";

const RECIPIENTS = ["+14155550130", "+14155550131", "+14155550132"];

function batchRequest(body: string) {
  return { body, recipients: RECIPIENTS.map((to) => ({ to })) };
}

/** The input the route hands the service for `batchRequest(body)`. */
function batchInput(body: string): BatchInput {
  return { ...batchRequest(body), template_id: undefined, variables: undefined };
}

async function callerOf(tenant: TestTenant): Promise<Caller> {
  const config = await loadTenant(env, tenant.id);
  if (!config) {
    throw new Error(`no tenant ${tenant.id}`);
  }
  return { keyId: tenant.keyId, mode: "test", scopes: ["admin"], tenant: config };
}

/**
 * The tenant's batches and, per recipient, its messages, once the dispatcher has written all it
 * accepted to D1 (nothing committed is left unlogged in its outbox).
 */
async function sendLogOf(tenant: TestTenant) {
  await eventually(
    () =>
      runInDurableObject(dispatcherOf(env, tenant.id), (_: TenantDispatcher, state) => {
        const left = state.storage.sql
          .exec<{ n: number }>(
            `SELECT (SELECT COUNT(*) FROM batches)
                  + (SELECT COUNT(*) FROM outbox WHERE logged = 0 AND state <> 'staged') AS n`,
          )
          .one().n;
        return left === 0 ? true : undefined;
      }),
    10_000,
    "the dispatcher to write what it accepted to D1",
  );
  const batches = await env.DB.prepare("SELECT id FROM batches WHERE tenant_id = ?")
    .bind(tenant.id)
    .all<{ id: string }>();
  const messages = await env.DB.prepare(
    "SELECT recipient, batch_id FROM messages WHERE tenant_id = ? ORDER BY recipient",
  )
    .bind(tenant.id)
    .all<{ recipient: string; batch_id: string }>();
  return { batches: batches.results.map((b) => b.id), messages: messages.results };
}

/** A DISPATCHER whose commitBatch commits and then throws, as if the answer were lost. */
function commitAnswerLost(namespace: DurableObjectNamespace<TenantDispatcher>) {
  return new Proxy(namespace, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "get") {
        return (id: DurableObjectId) => {
          const stub = target.get(id);
          return new Proxy(stub, {
            get(inner, method) {
              if (method !== "commitBatch") {
                // RPC stubs answer any property, even `bind`: call through Reflect instead.
                const member = Reflect.get(inner, method, inner);
                return (...args: unknown[]) => Reflect.apply(member, inner, args);
              }
              return async (...args: Parameters<TenantDispatcher["commitBatch"]>) => {
                await inner.commitBatch(...args);
                throw new Error("Network connection lost.");
              };
            },
          });
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("POST /v1/batches retried with the same Idempotency-Key", () => {
  it("answers the batch even when its answer could not be stored, and a retry creates nothing", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "batch-store-fails" };
    const request = batchRequest("Doors open at 9");
    const flaky = flakyD1(env.DB, storesIdempotentAnswer);

    const first = await callWithEnv(
      { ...env, DB: flaky.db },
      "/v1/batches",
      tenant.key,
      postJson(request, headers),
    );
    expect(flaky.failures()).toBe(1);
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };

    // Its answer is not recorded, so the retry cannot replay it; it must not create either.
    const retry = await tenant.api("/v1/batches", postJson(request, headers));
    const problem = await expectProblem(retry, {
      status: 409,
      slug: "conflict",
      instance: "/v1/batches",
      detail: /in progress/,
      pointers: ["/headers/idempotency-key"],
    });
    expect(Number(retry.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(problem.errors).toHaveLength(1);

    const log = await sendLogOf(tenant);
    expect(log.batches).toEqual([id]);
    expect(log.messages).toEqual(RECIPIENTS.map((recipient) => ({ recipient, batch_id: id })));
  });

  it("re-derives the same batch for a retry after the claim's lease, and replays it after", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const input = batchInput("Doors open at 10");
    const flaky = flakyD1(env.DB, storesIdempotentAnswer);
    const t0 = Date.now();

    const first = await acceptBatch({ ...env, DB: flaky.db }, caller, input, "batch-lease", t0);
    expect(flaky.failures()).toBe(1);
    await expect(acceptBatch(env, caller, input, "batch-lease", t0 + 1_000)).rejects.toThrow(
      /in progress/,
    );
    const takenOver = await acceptBatch(env, caller, input, "batch-lease", t0 + CLAIM_LEASE_MS);
    expect(takenOver.batch).toEqual(first.batch);
    const replayed = await acceptBatch(env, caller, input, "batch-lease", t0 + CLAIM_LEASE_MS + 1);
    expect(replayed).toEqual({ replayed: true, batch: first.batch });

    const log = await sendLogOf(tenant);
    expect(log.batches).toEqual([first.batch.id]);
    expect(log.messages).toEqual(
      RECIPIENTS.map((recipient) => ({ recipient, batch_id: first.batch.id })),
    );
  });

  it("keeps the key of a batch whose commit answer was lost, and the retry commits it once", async () => {
    const tenant = await createTenant();
    const caller = await callerOf(tenant);
    const input = batchInput("Doors open at 11");
    const lost = { ...env, DISPATCHER: commitAnswerLost(env.DISPATCHER) };
    const t0 = Date.now();

    await expect(acceptBatch(lost, caller, input, "batch-commit-lost", t0)).rejects.toThrow(
      /connection lost/,
    );
    // The batch may well be committed: the key stays claimed instead of freeing a second batch.
    await expect(
      acceptBatch(env, caller, input, "batch-commit-lost", t0 + 1_000),
    ).rejects.toBeInstanceOf(ApiError);
    const retried = await acceptBatch(env, caller, input, "batch-commit-lost", t0 + CLAIM_LEASE_MS);
    expect(retried.batch.accepted).toBe(RECIPIENTS.length);

    const log = await sendLogOf(tenant);
    expect(log.batches).toEqual([retried.batch.id]);
    expect(log.messages).toEqual(
      RECIPIENTS.map((recipient) => ({ recipient, batch_id: retried.batch.id })),
    );
  });

  it("still frees the key of a batch refused before anything was staged", async () => {
    const tenant = await createTenant();
    const headers = { "idempotency-key": "batch-refused" };
    const refused = await tenant.api(
      "/v1/batches",
      postJson({ body: "Hi", csv: "phone\n+14155550130" }, headers),
    );
    expect(refused.status).toBe(400);
    const corrected = await tenant.api("/v1/batches", postJson(batchRequest("Hi"), headers));
    expect(corrected.status).toBe(202);
  });
});
