/**
 * The desk's live latency (run by `npm run bench`, or alone with `--only desk`): one tenant with
 * the desk on and open all day, one agent online (capacity 100, the most allowed: past it conversations queue, and a queued one is an event on the socket too), an API key's WebSocket
 * on `/v1/desk/live`; then `--desk-messages` inbound sandbox SMS saying 人工, each from its own
 * number, one after another: the latency of each is from the hook's POST leaving to the first
 * `conversation.state` event of a new conversation (from_state null) arriving on the socket.
 * Target: p95 ≤ 1 s; every message's event arrives.
 */
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { join } from "node:path";
import WebSocket from "ws";
import { startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  format,
  loadLine,
  machine,
  markdownTable,
  must,
  passFail,
  percentile,
  recipient,
} from "./lib.mjs";

export const TARGET_P95_MS = 1_000;
const OUR_NUMBER = "+8610690000";
const EVENT_TIMEOUT_MS = 10_000;
const ALL_DAY = [{ start: "00:00", end: "24:00" }];

/** Opens the live socket and resolves once it said hello; `next()` waits for a new conversation. */
async function openLive(server, key) {
  const url = `${server.url.replace(/^http/, "ws")}/v1/desk/live`;
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${key}` } });
  const arrivals = [];
  let waiting = null;
  socket.on("message", (data) => {
    const event = JSON.parse(String(data));
    if (event.type === "conversation.state" && event.from_state === null) {
      const at = performance.now();
      if (waiting) {
        const w = waiting;
        waiting = null;
        w.resolve({ at, event });
      } else {
        arrivals.push({ at, event });
      }
    }
  });
  await new Promise((resolve, reject) => {
    socket.once("message", resolve);
    socket.once("error", reject);
  });
  return {
    next: () =>
      arrivals.length > 0
        ? Promise.resolve(arrivals.shift())
        : new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
              waiting = null;
              reject(new Error("no event"));
            }, EVENT_TIMEOUT_MS);
            waiting = {
              resolve: (value) => {
                clearTimeout(timer);
                resolve(value);
              },
            };
          }),
    close: () => socket.close(1000, "bench done"),
  };
}

export async function runDesk(settings) {
  const persistTo = join(BENCH_DIR, "tmp", "desk");
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const count = settings.deskMessages;
  const { tenants, sql } = benchTenants(1, {
    prefix: "desk",
    sendRate: settings.sendRate,
    root: settings.source.dir,
  });
  const { tenantId, adminKey } = tenants[0];
  const hookToken = randomBytes(24).toString("hex");
  console.log("desk: starting a local server…");
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: settings.vars,
    logLevel: settings.wranglerLogLevel,
    extraSql: `${sql}
UPDATE provider_settings SET hook_token = '${hookToken}'
WHERE tenant_id = '${tenantId}' AND provider = 'sandbox';`,
  });
  const failures = [];
  try {
    await must(server, "PATCH", "/v1/tenant", {
      key: adminKey,
      json: {
        desk: {
          enabled: true,
          working_hours: Object.fromEntries(
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map((d) => [d, ALL_DAY]),
          ),
        },
      },
    });
    const invited = await must(server, "POST", "/v1/users", {
      key: adminKey,
      json: { email: "bench.agent@example.com", role: "agent" },
    });
    await must(server, "PATCH", `/v1/desk/agents/${invited.user.id}`, {
      key: adminKey,
      json: { status: "online", capacity: Math.min(100, count) },
    });
    const live = await openLive(server, adminKey);
    const hookPath = `/hooks/sms/sandbox/${hookToken}/inbound`;
    const latencies = [];
    const states = new Map();
    let missing = 0;
    console.log(`desk: ${count} inbound SMS saying 人工, one after another`);
    for (let n = 0; n < count; n++) {
      const sentAt = performance.now();
      const res = await fetch(`${server.url}${hookPath}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ from: recipient(50_000 + n), to: OUR_NUMBER, body: "人工" }),
      });
      await res.arrayBuffer();
      if (!res.ok) {
        failures.push(`desk: the hook answered ${res.status} to message ${n}`);
        break;
      }
      try {
        const { at, event } = await live.next();
        latencies.push(at - sentAt);
        states.set(event.state, (states.get(event.state) ?? 0) + 1);
      } catch {
        missing++;
      }
    }
    live.close();
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p95 = percentile(sorted, 95);
    const max = sorted.at(-1) ?? Number.NaN;
    if (missing > 0) {
      failures.push(`desk: ${missing} messages' events never reached the socket`);
    }
    if (!(p95 <= TARGET_P95_MS)) {
      failures.push(`desk: p95 ${format(p95)} ms (target ≤ ${TARGET_P95_MS} ms)`);
    }
    const ok = missing === 0 && p95 <= TARGET_P95_MS;
    const table = markdownTable(
      ["messages", "events", "p50 ms", "p95 ms", "max ms", "states"],
      [
        [
          count,
          latencies.length,
          format(p50),
          format(p95),
          format(max),
          [...states].map(([s, c]) => `${s} ${c}`).join(", "),
        ],
      ],
    );
    const markdown = `## Desk: inbound 人工 → the agent's WebSocket

- Run: ${startedIso}; ${loadLine(before)} before, ${loadLine()} after
- How: one tenant, the desk on and open all day, one agent online (capacity ${Math.min(100, count)}), an API key's socket on \`/v1/desk/live\`; ${count} posts to the sandbox's inbound SMS hook saying 人工, each from its own number, one after another (local \`wrangler dev\`, on disk); each latency is the post leaving → the first \`conversation.state\` of that new conversation arriving on the socket
- Target: p95 ≤ ${TARGET_P95_MS} ms, every event arrives — ${passFail(ok)}

${table}`;
    return { markdown, failures };
  } finally {
    await server.stop();
  }
}
