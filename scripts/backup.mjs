/**
 * `npm run backup [-- --output FILE] [--persist-to DIR]`: exports the local D1 (what `npm start`
 * uses, or the state directory DIR) with `wrangler d1 export --local` to
 * backups/relaybox-YYYY-MM-DD-HHMMSS.sql (UTC), or FILE, and each other send-log partition
 * (`SEND_LOG_*`) beside it as FILE.<BINDING>.sql (scripts/d1-backup.mjs). Durable Object state is not in it
 * (README, "Backups and restore"). Safe while `npm start` runs: an export only reads.
 */
import { relative } from "node:path";
import { parseArgs } from "node:util";
import { exportLocalD1, partitionFile } from "./d1-backup.mjs";
import { d1Bindings } from "./local-server.mjs";
import { ROOT } from "./seed.mjs";

async function main() {
  const { values } = parseArgs({
    options: { output: { type: "string" }, "persist-to": { type: "string" } },
  });
  const file = await exportLocalD1({ output: values.output, persistTo: values["persist-to"] });
  console.log(`Backed up the local D1 to ${relative(ROOT, file) || file}`);
  for (const binding of d1Bindings().filter((name) => name !== "DB")) {
    console.log(
      `  and its send-log partition ${binding} to ${relative(ROOT, partitionFile(file, binding))}`,
    );
  }
  console.log(`Bring it back with: npm run restore -- ${relative(ROOT, file) || file}`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
