/**
 * Work per message, counted rather than timed: `npx node test/bench/count-ops.mjs [--baseline
 * <ref>] [--messages 3000] [--warmup 500] [--tenants 10] [--json file]` (npx for Node 22).
 * For the working tree (and the baseline commit, when given) it starts `wrangler dev` from a source
 * snapshot whose entry is count-entry.mjs (the real Worker, wrapped in counters), loads
 * POST /v1/messages over `--tenants` tenants like section 1's multi-tenant run (50 connections, the
 * key round-robin per request), first a warm-up, then `--messages` counted messages, waits until
 * every message is final and the counters stand still, and prints D1 statements, rows read and
 * written, dispatcher RPCs, dispatcher SQL statements and rows, storage calls, alarm runs, queue
 * sends and queue batches per accepted message, with the statements that differ.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  format,
  must,
  recipient,
  setSendRate,
  sleep,
  snapshotRef,
  snapshotSource,
  waitForQuiet,
} from "./lib.mjs";

const { values } = parseArgs({
  options: {
    baseline: { type: "string" },
    messages: { type: "string", default: "3000" },
    warmup: { type: "string", default: "500" },
    tenants: { type: "string", default: "10" },
    connections: { type: "string", default: "50" },
    json: { type: "string" },
  },
});
const MESSAGES = Number(values.messages);
const WARMUP = Number(values.warmup);
const TENANTS = Number(values.tenants);
const CONNECTIONS = Number(values.connections);
const BODY = "Your Relaybox code is 482913";
let sequence = 0;

function instrument(dir) {
  copyFileSync(join(BENCH_DIR, "count-entry.mjs"), join(dir, "src", "count-entry.mjs"));
  const toml = join(dir, "wrangler.toml");
  writeFileSync(
    toml,
    readFileSync(toml, "utf8").replace(/^main = .*$/m, 'main = "src/count-entry.mjs"'),
  );
}

async function send(server, keys, amount) {
  let request = 0;
  const result = await autocannon({
    url: `${server.url}/v1/messages`,
    method: "POST",
    connections: CONNECTIONS,
    amount,
    headers: { "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => {
          const key = keys[request++ % keys.length];
          sequence += 1;
          return {
            ...req,
            headers: { ...req.headers, authorization: `Bearer ${key}` },
            body: JSON.stringify({ to: recipient(sequence), body: BODY }),
          };
        },
      },
    ],
  });
  const accepted = result.statusCodeStats["202"]?.count ?? 0;
  if (accepted !== amount) {
    throw new Error(
      `${amount} requests, ${accepted} answered 202: ${JSON.stringify(result.statusCodeStats)}`,
    );
  }
  return accepted;
}

/** Waits until the backlog is final and the counters have not moved for `stillMs`. */
async function settle(server, keys, stillMs) {
  const quiet = await waitForQuiet(server, keys, 120_000);
  if (quiet === null) {
    throw new Error("the backlog did not drain in 120 s");
  }
  let last = "";
  let stillSince = Date.now();
  while (Date.now() - stillSince < stillMs) {
    await sleep(1000);
    const now = JSON.stringify(await must(server, "GET", "/__counts"));
    if (now !== last) {
      last = now;
      stillSince = Date.now();
    }
  }
}

async function countFor(label, root) {
  instrument(root);
  const persistTo = join(BENCH_DIR, "tmp", "count-ops", label);
  const multi = benchTenants(TENANTS, { sendRate: 5000, root });
  const server = await startLocalServer({
    cwd: root,
    persistTo,
    extraSql: multi.sql,
  });
  try {
    const keys = multi.tenants.map((t) => t.apiKey);
    for (const { adminKey } of multi.tenants) {
      await setSendRate(server, adminKey, 5000);
    }
    console.log(`${label}: warm-up, ${WARMUP} messages`);
    await send(server, keys, WARMUP);
    await settle(server, keys, 3000);
    await must(server, "POST", "/__counts");
    console.log(`${label}: ${MESSAGES} messages over ${TENANTS} tenants`);
    const accepted = await send(server, keys, MESSAGES);
    // The receipt deadline sweep (30 s after the last send) is per-message work too.
    await settle(server, keys, 40_000);
    const counts = await must(server, "GET", "/__counts");
    return { label, accepted, counts };
  } finally {
    await server.stop();
  }
}

function flatten(result) {
  const { counts, accepted } = result;
  const per = (n) => n / accepted;
  const rows = new Map();
  const put = (key, n) => rows.set(key, per(n));
  put("D1 round trips", counts.d1.roundTrips);
  put("D1 batch() calls", counts.d1.batches);
  put("D1 statements", counts.d1.statements);
  put("D1 rows read", counts.d1.rowsRead);
  put("D1 rows written", counts.d1.rowsWritten);
  put("dispatcher SQL statements", counts.doSql.statements);
  put("dispatcher SQL rows read", counts.doSql.rowsRead);
  put("dispatcher SQL rows written", counts.doSql.rowsWritten);
  put("alarm runs", counts.alarms);
  put("queue acks", counts.acks);
  put("queue retries", counts.retries);
  for (const [name, n] of Object.entries(counts.rpc)) {
    put(`RPC ${name}`, n);
  }
  for (const [name, n] of Object.entries(counts.storage)) {
    put(`storage ${name}`, n);
  }
  for (const [name, n] of Object.entries(counts.queueSends)) {
    put(`queue send ${name}`, n);
  }
  for (const [name, n] of Object.entries(counts.queueBatches)) {
    put(`queue batch ${name}`, n);
  }
  for (const [name, n] of Object.entries(counts.requests)) {
    put(`request ${name}`, n);
  }
  return rows;
}

function statementRows(result, kind) {
  const rows = new Map();
  for (const [sql, row] of Object.entries(result.counts[kind].bySql)) {
    rows.set(sql, {
      statements: row.statements / result.accepted,
      rowsRead: row.rowsRead / result.accepted,
      rowsWritten: row.rowsWritten / result.accepted,
    });
  }
  return rows;
}

function printTable(results) {
  const flat = results.map(flatten);
  const keys = [...new Set(flat.flatMap((rows) => [...rows.keys()]))];
  console.log(
    `\nper accepted message (${results.map((r) => `${r.label}: ${r.accepted}`).join(", ")})`,
  );
  for (const key of keys) {
    console.log(
      `${key.padEnd(48)} ${flat.map((rows) => format(rows.get(key) ?? 0, 3).padStart(10)).join(" ")}`,
    );
  }
  for (const kind of ["d1", "doSql"]) {
    console.log(`\n${kind} statements per message (statements / rows read / rows written)`);
    const all = results.map((r) => statementRows(r, kind));
    const sqls = [...new Set(all.flatMap((rows) => [...rows.keys()]))].sort();
    for (const sql of sqls) {
      const cells = all.map((rows) => {
        const row = rows.get(sql);
        return row
          ? `${format(row.statements, 3)}/${format(row.rowsRead, 2)}/${format(row.rowsWritten, 2)}`
          : "-";
      });
      console.log(`${cells.map((c) => c.padStart(20)).join(" ")}  ${sql}`);
    }
  }
}

const sources = [];
if (values.baseline) {
  sources.push({ label: "baseline", snapshot: snapshotRef(values.baseline) });
}
sources.push({ label: "current", snapshot: snapshotSource() });
const results = [];
try {
  for (const { label, snapshot } of sources) {
    results.push(await countFor(`${label}-${snapshot.commit}`, snapshot.dir));
  }
} finally {
  for (const { snapshot } of sources) {
    snapshot.remove();
  }
}
if (values.json) {
  writeFileSync(values.json, JSON.stringify(results, null, 2));
}
printTable(results);
