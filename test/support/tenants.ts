/** Test tenants and keys, created straight in the test D1 through the services' own code. */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { database } from "../../src/db/client";
import { apiKeys, providerSettings, tenants } from "../../src/db/schema";
import type { Permission } from "../../src/domain/permissions";
import { randomToken, sha256Hex } from "../../src/lib/crypto";
import { newId } from "../../src/lib/ids";
import { generateApiKey } from "../../src/services/accounts/api-keys";

export interface TestTenant {
  id: string;
  /** A live key with every scope: test keys cannot change configuration. */
  key: string;
  keyId: string;
  hookToken: string;
  /** Calls the Worker with this tenant's key. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Adds another key for this tenant (a live key unless `mode` says otherwise). */
  addKey(scopes: Permission[], mode?: "live" | "test"): Promise<{ id: string; key: string }>;
}

export async function createTenant(
  options: { homeCountry?: string; allowedCountries?: string[]; sendRate?: number } = {},
): Promise<TestTenant> {
  const db = database(env.DB);
  const now = Date.now();
  const id = newId("tnt", now);
  await db.insert(tenants).values({
    id,
    name: `Test ${id}`,
    homeCountry: options.homeCountry ?? "CN",
    allowedCountries: options.allowedCountries ?? ["CN", "US", "GB"],
    sendRate: options.sendRate ?? 50,
    signature: "【Relaybox】",
    createdAt: now,
  });
  const hookToken = randomToken(32);
  await db.insert(providerSettings).values({
    id: newId("prv", now),
    tenantId: id,
    provider: "sandbox",
    config: {},
    hookToken,
    createdAt: now,
    updatedAt: now,
  });
  const addKey = async (scopes: Permission[], mode: "live" | "test" = "live") => {
    const key = generateApiKey(mode);
    const keyId = newId("key");
    await db.insert(apiKeys).values({
      id: keyId,
      tenantId: id,
      name: "test key",
      prefix: key.slice(0, 13),
      keyHash: await sha256Hex(key),
      mode,
      scopes,
      createdAt: Date.now(),
    });
    return { id: keyId, key };
  };
  const first = await addKey(["admin"]);
  return {
    id,
    key: first.key,
    keyId: first.id,
    hookToken,
    addKey,
    api: (path, init = {}) => call(path, first.key, init),
  };
}

/** A request to the Worker's own fetch handler, with a bearer key and JSON by default. */
export function call(path: string, key: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key !== null && !headers.has("authorization")) {
    headers.set("authorization", `Bearer ${key}`);
  }
  if (typeof init.body === "string" && !headers.has("content-type")) {
    headers.set("content-type", "application/json");
  }
  return exports.default.fetch(
    new Request(`http://127.0.0.1:8787${path}`, { redirect: "manual", ...init, headers }),
  );
}

export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", body: JSON.stringify(body), headers };
}

/** Polls until `check` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until a message reaches `status` (or any final status when none is given). */
export async function messageReaches(
  tenant: TestTenant,
  id: string,
  status?: string,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>> {
  const finals = ["delivered", "undelivered", "failed", "canceled", "expired"];
  return eventually(
    async () => {
      const res = await tenant.api(`/v1/messages/${id}`);
      const body = (await res.json()) as Record<string, unknown>;
      const reached = status ? body.status === status : finals.includes(String(body.status));
      return reached ? body : undefined;
    },
    timeoutMs,
    `${id} to reach ${status ?? "a final status"}`,
  );
}
