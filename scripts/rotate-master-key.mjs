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
import { fail, platformApi } from "./platform-api.mjs";

const totals = { scanned: 0, reencrypted: 0, current: 0 };
const unreadable = [];
let cursor;
do {
  const result = await platformApi(
    "POST",
    "/v1/platform/master-key/reencrypt",
    cursor === undefined ? { limit: 100 } : { cursor, limit: 100 },
  );
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
