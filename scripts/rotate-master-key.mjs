/**
 * `npm run rotate-master-key`: the last step of rotating MASTER_KEY (README, Deploying). Calls
 * `POST /v1/platform/master-key/reencrypt` until every stored secret has been visited, 100 at a
 * time, so that each secret still under MASTER_KEY_PREVIOUS is rewritten under MASTER_KEY. It is
 * safe to run again; when it ends with nothing unreadable, MASTER_KEY_PREVIOUS can be removed.
 *
 * RELAYBOX_URL: where the Worker runs (default http://127.0.0.1:8787). PLATFORM_KEY: from the
 * environment, or locally from .dev.vars (written by `npm start`). Exits 1 if a secret opens under
 * neither key (listed), or on any error.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./seed.mjs";

const BASE_URL = (process.env.RELAYBOX_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");

function fail(message) {
  console.error(message);
  process.exit(1);
}

function platformKey() {
  if (process.env.PLATFORM_KEY) {
    return process.env.PLATFORM_KEY;
  }
  const devVars = join(ROOT, ".dev.vars");
  const text = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
  const value = /^PLATFORM_KEY[ \t]*=[ \t]*(.*)$/m
    .exec(text)?.[1]
    ?.trim()
    .replace(/^(["'])(.*)\1$/, "$2");
  if (!value) {
    fail("No PLATFORM_KEY: set it in the environment, or run `npm start` once to write .dev.vars.");
  }
  return value;
}

async function pass(key, cursor) {
  let res;
  try {
    res = await fetch(`${BASE_URL}/v1/platform/master-key/reencrypt`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(cursor === undefined ? { limit: 100 } : { cursor, limit: 100 }),
    });
  } catch (error) {
    fail(`Cannot reach ${BASE_URL} (${error.cause?.code ?? error.message}); is it running?`);
  }
  const payload = await res.json().catch(() => ({}));
  if (!res.ok) {
    const errors = (payload.errors ?? []).map((e) => `\n  ${e.pointer || "/"}: ${e.detail}`);
    fail(
      `${res.status} ${payload.title ?? res.statusText}: ${payload.detail ?? ""}${errors.join("")}`,
    );
  }
  return payload;
}

const key = platformKey();
const totals = { scanned: 0, reencrypted: 0, current: 0 };
const unreadable = [];
let cursor;
do {
  const result = await pass(key, cursor);
  totals.scanned += result.scanned;
  totals.reencrypted += result.reencrypted;
  totals.current += result.current;
  unreadable.push(...result.unreadable);
  cursor = result.next_cursor ?? undefined;
} while (cursor !== undefined);

console.log(
  `${totals.scanned} stored secrets: ${totals.reencrypted} re-encrypted under MASTER_KEY, ` +
    `${totals.current} already under it, ${unreadable.length} unreadable.`,
);
if (unreadable.length > 0) {
  for (const { table, id } of unreadable) {
    console.error(`  unreadable under both keys: ${table} ${id}`);
  }
  fail("Re-enter those secrets before removing MASTER_KEY_PREVIOUS.");
}
console.log("Every stored secret is under MASTER_KEY: MASTER_KEY_PREVIOUS can be removed.");
