/**
 * `npm run restore -- FILE [--persist-to DIR]`: replaces the local D1 (what `npm start` uses, or
 * the state directory DIR) with FILE, an export written by `npm run backup` or
 * `wrangler d1 export`. Every local table is dropped and the export loaded in one transaction,
 * after a trial load into a scratch database (scripts/d1-backup.mjs); without --persist-to it
 * refuses while a local server answers on PORT (default 8787): stop `npm start` first.
 */
import { parseArgs } from "node:util";
import { restoreLocalD1 } from "./d1-backup.mjs";

const PORT = Number(process.env.PORT ?? 8787);

async function serverRunning() {
  try {
    const response = await fetch(`http://127.0.0.1:${PORT}/healthz`, {
      signal: AbortSignal.timeout(1000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { "persist-to": { type: "string" } },
  });
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) {
    throw new Error("usage: npm run restore -- FILE [--persist-to DIR]");
  }
  const persistTo = values["persist-to"];
  if (!persistTo && (await serverRunning())) {
    throw new Error(
      `a local server answers on 127.0.0.1:${PORT}; stop \`npm start\` before restoring (it holds the database open)`,
    );
  }
  await restoreLocalD1(file, { persistTo });
  console.log(`Restored the local D1 from ${file}. Start the server again with \`npm start\`.`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
