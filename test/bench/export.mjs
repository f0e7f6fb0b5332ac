/**
 * The messages export streamed (run by `npm run bench`, or alone with `--only export`): a tenant
 * with `--export-rows` messages (100,000 by default) seeded into a fresh local D1, then
 * `GET /v1/messages/export?format=csv` read to the end while the Worker isolate's heap is sampled
 * through `wrangler dev`'s inspector (Runtime.getHeapUsage, after HeapProfiler.collectGarbage
 * before and after). Targets: every row arrives (a header and one line per message), and the
 * heap's peak during the export stays within `TARGET_GROWTH_MB` of the heap before it, far below
 * the export's own size: the rows are streamed a page at a time, never held whole.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  format,
  loadLine,
  machine,
  markdownTable,
  passFail,
} from "./lib.mjs";
import { Inspector } from "./profile.mjs";

export const TARGET_GROWTH_MB = 16;
const HEAP_SAMPLE_MS = 50;
const MB = 1024 * 1024;

/** The bench tenant's messages, made in D1 by one statement: ids and times in order. */
function seedSql(tenantId, rows) {
  return `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
INSERT INTO messages (id, tenant_id, channel, recipient, country, body, mode, status, segments,
  encoding, cost_micros, currency, created_at, send_at, updated_at)
SELECT 'msg_' || printf('%010d', i) || 'BENCHEXPORT00000', '${tenantId}', 'sms',
  '+86138' || printf('%08d', i), 'CN',
  'Order ' || i || ', "shipped" =SUM(A1) 您好', 'live', 'delivered', 1, 'UCS-2', 6500, 'USD',
  1764547200000 + i * 1000, 1764547200000 + i * 1000, 1764547200000 + i * 1000
FROM n;`;
}

async function heapMb(inspector) {
  const { usedSize } = await inspector.send("Runtime.getHeapUsage");
  return usedSize / MB;
}

/**
 * After a garbage collection where the inspector offers one (workerd's may not answer it; then
 * the heap is measured as it is, and the peak's comparison still shows whether rows were held).
 */
async function settledHeapMb(inspector) {
  let collected = true;
  try {
    await inspector.send("HeapProfiler.collectGarbage", {}, 3000);
  } catch {
    collected = false;
  }
  return { mb: await heapMb(inspector), collected };
}

export async function runExport(settings) {
  const rows = settings.exportRows;
  const persistTo = join(BENCH_DIR, "tmp", "export");
  rmSync(persistTo, { recursive: true, force: true });
  const { tenants, sql } = benchTenants(1, {
    prefix: "export",
    sendRate: settings.sendRate,
    root: settings.source.dir,
    keyMode: "live",
  });
  const { tenantId, apiKey } = tenants[0];
  const inspectorPort = await freePort();
  console.log(`export: seeding ${rows} messages and starting a local server…`);
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: settings.vars,
    logLevel: settings.wranglerLogLevel,
    inspectorPort,
    extraSql: `${sql}\n${seedSql(tenantId, rows)}`,
  });
  const failures = [];
  let inspector;
  try {
    // A first request loads the Worker into its isolate before anything is measured.
    const warm = await fetch(`${server.url}/v1/messages?limit=1`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    await warm.arrayBuffer();
    inspector = await Inspector.connect(inspectorPort);
    await inspector.send("Runtime.enable");
    await inspector.send("HeapProfiler.enable", {}, 3000).catch(() => undefined);
    const settledBefore = await settledHeapMb(inspector);
    const before = settledBefore.mb;
    let peak = before;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await heapMb(inspector));
        await new Promise((resolve) => setTimeout(resolve, HEAP_SAMPLE_MS));
      }
    })();
    const started = performance.now();
    let firstByteMs = 0;
    let bytes = 0;
    let lines = 0;
    let text = "";
    const response = await fetch(`${server.url}/v1/messages/export?format=csv`, {
      headers: { authorization: `Bearer ${apiKey}` },
    });
    const decoder = new TextDecoder();
    for await (const chunk of response.body) {
      if (bytes === 0) {
        firstByteMs = performance.now() - started;
      }
      bytes += chunk.length;
      // Count records, not lines: a quoted body may hold none here, but CRLF ends each record.
      text += decoder.decode(chunk, { stream: true });
      const records = text.split("\r\n");
      text = records.pop() ?? "";
      lines += records.length;
    }
    const seconds = (performance.now() - started) / 1000;
    sampling = false;
    await sampler;
    const settledAfter = await settledHeapMb(inspector);
    const after = settledAfter.mb;
    const gc = settledBefore.collected && settledAfter.collected;
    if (response.status !== 200) {
      failures.push(`export: status ${response.status}`);
    }
    if (lines !== rows + 1) {
      failures.push(`export: ${lines - 1} rows arrived, ${rows} expected`);
    }
    const growth = peak - before;
    if (!(growth <= TARGET_GROWTH_MB)) {
      failures.push(
        `export: the heap grew ${format(growth)} MB during the export (target ≤ ${TARGET_GROWTH_MB} MB)`,
      );
    }
    const table = markdownTable(
      [
        "rows",
        "size (MB)",
        "first byte (ms)",
        "time (s)",
        "heap before (MB)",
        "peak (MB)",
        "after (MB)",
        `growth ≤ ${TARGET_GROWTH_MB} MB`,
      ],
      [
        [
          rows,
          format(bytes / MB),
          format(firstByteMs, 0),
          format(seconds),
          format(before),
          format(peak),
          format(after),
          passFail(growth <= TARGET_GROWTH_MB),
        ],
      ],
    );
    return {
      failures,
      markdown: `## Export (GET /v1/messages/export, streamed)

${rows} messages of one tenant, seeded into a fresh local D1, exported as CSV in one request read
to its end; the Worker isolate's heap (V8 used size, through the inspector) before, sampled every
${HEAP_SAMPLE_MS} ms during, and at the end (${gc ? "before and after a forced GC" : "no forced GC: the inspector did not offer one"}). ${loadLine(machine().load)}

${table}`,
    };
  } finally {
    inspector?.close();
    await server.stop();
  }
}
