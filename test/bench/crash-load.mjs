/**
 * Crash under load (run by `npm run bench`, or alone with `npm run bench -- --only crash`):
 * `connections` clients send `POST /v1/messages` for `crashDuration` seconds; at `crashKillAt`
 * seconds the server gets SIGKILL (wrangler and workerd at once, so the local queue loses what it
 * held), and a new server starts at once on the same state and port while the clients keep going.
 * Then every message that got a 202 must reach a final state (bounded wait) and none may have more
 * than one `sent` attempt. Requests in flight at the kill fail: expected, only 202s count.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { freePort, queryLocalD1, startLocalServer } from "../../scripts/local-server.mjs";
import {
  BENCH_DIR,
  benchTenants,
  call,
  FINAL_STATUSES,
  format,
  listAll,
  loadLine,
  machine,
  markdownTable,
  passFail,
  recipient,
  setSendRate,
  sleep,
} from "./lib.mjs";

/** Short deadlines so the run settles fast; reported with the figures. */
export const CRASH_VARS = {
  RELEASE_TIMEOUT_SECONDS: 5,
  RECEIPT_DEADLINE_SECONDS: 10,
  RETRY_BASE_SECONDS: 1,
  RETRY_MAX_SECONDS: 2,
};

function quote(value) {
  return `'${String(value).replaceAll("'", "''")}'`;
}

export async function runCrash(settings) {
  const persistTo = join(BENCH_DIR, "tmp", "crash");
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const { tenants, sql } = benchTenants(1, {
    prefix: "crash",
    sendRate: settings.sendRate,
    root: settings.source.dir,
  });
  const { tenantId, apiKey: key } = tenants[0];
  const vars = { ...settings.vars, ...CRASH_VARS };
  const port = await freePort();
  const cwd = settings.source.dir;
  const serverOptions = { persistTo, vars, port, cwd, logLevel: settings.wranglerLogLevel };
  console.log("crash: starting a local server…");
  let server = await startLocalServer({ ...serverOptions, extraSql: sql });
  const target = { url: server.url };
  await setSendRate(server, key, settings.sendRate);

  const accepted = new Map();
  const statuses = new Map();
  const errors = new Map();
  let sequence = 0;
  const started = Date.now();
  const end = started + settings.crashDuration * 1000;
  const killAt = started + settings.crashKillAt * 1000;
  let killedAt = null;
  let restartedAt = null;

  console.log(
    `crash: ${settings.connections} connections for ${settings.crashDuration} s, SIGKILL at ${settings.crashKillAt} s`,
  );
  async function client() {
    while (Date.now() < end) {
      sequence += 1;
      const result = await call(target, "POST", "/v1/messages", {
        key,
        json: { to: recipient(sequence), body: `crash check ${sequence}` },
        timeoutMs: 10_000,
      });
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      if (result.status === 202) {
        accepted.set(result.body.id, { at: Date.now(), afterRestart: restartedAt !== null });
      } else if (result.status === 0) {
        errors.set(result.error, (errors.get(result.error) ?? 0) + 1);
        // The server is down: do not spin.
        await sleep(100);
      }
    }
  }
  async function killer() {
    await sleep(Math.max(0, killAt - Date.now()));
    killedAt = Date.now();
    await server.kill();
    console.log(`crash: killed at ${format((killedAt - started) / 1000)} s; restarting`);
    server = await startLocalServer({ ...serverOptions, prepare: false });
    restartedAt = Date.now();
    console.log(`crash: up again at ${format((restartedAt - started) / 1000)} s`);
  }
  await Promise.all([killer(), ...Array.from({ length: settings.connections }, client)]);
  const loadEnded = Date.now();
  const acceptedBefore = [...accepted.values()].filter((a) => !a.afterRestart).length;
  console.log(`crash: ${accepted.size} accepted (${acceptedBefore} before the kill); settling`);

  // Settle: page through the send log until every accepted id is final, or the bound runs out.
  const deadline = loadEnded + settings.crashSettleTimeout * 1000;
  let notFinal = accepted.size;
  let settledAt = null;
  let polls = 0;
  while (Date.now() < deadline) {
    polls += 1;
    try {
      const rows = await listAll(server, key, { maxPages: 5000 });
      const status = new Map(rows.map((row) => [row.id, row.status]));
      notFinal = [...accepted.keys()].filter(
        (id) => !FINAL_STATUSES.includes(status.get(id)),
      ).length;
      if (notFinal === 0) {
        settledAt = Date.now();
        break;
      }
    } catch (error) {
      console.warn(`crash: poll ${polls} failed: ${error.message}`);
    }
    await sleep(2000);
  }
  console.log(
    settledAt
      ? `crash: all final ${format((settledAt - loadEnded) / 1000)} s after the load ended`
      : `crash: ${notFinal} still not final after ${settings.crashSettleTimeout} s`,
  );
  await server.stop();

  // The verdict from the stopped server's D1: final states, sends per message, unrecorded claims.
  const tenant = quote(tenantId);
  const rows = await queryLocalD1(
    `SELECT id, status, attempt_count FROM messages WHERE tenant_id = ${tenant}`,
    { persistTo, cwd },
  );
  const inLog = new Map(rows.map((row) => [row.id, row]));
  const duplicates = await queryLocalD1(
    `SELECT message_id, COUNT(*) AS sends FROM message_attempts WHERE tenant_id = ${tenant} AND outcome = 'sent' GROUP BY message_id HAVING COUNT(*) > 1`,
    { persistTo, cwd },
  );
  const unrecorded = await queryLocalD1(
    `SELECT m.id, m.status, m.attempt_count, (SELECT COUNT(*) FROM message_attempts a WHERE a.message_id = m.id) AS recorded FROM messages m WHERE m.tenant_id = ${tenant} AND m.attempt_count > (SELECT COUNT(*) FROM message_attempts a WHERE a.message_id = m.id)`,
    { persistTo, cwd },
  );
  const lostIds = [...accepted.keys()].filter(
    (id) => !FINAL_STATUSES.includes(inLog.get(id)?.status),
  );
  const missing = lostIds.filter((id) => !inLog.has(id)).length;
  const finalCount = accepted.size - lostIds.length;
  const finalByStatus = new Map();
  for (const id of accepted.keys()) {
    const status = inLog.get(id)?.status ?? "(not in the send log)";
    finalByStatus.set(status, (finalByStatus.get(status) ?? 0) + 1);
  }
  const unacknowledged = rows.filter((row) => !accepted.has(row.id)).length;

  const failures = [];
  if (lostIds.length > 0) {
    failures.push(
      `crash: ${lostIds.length} accepted messages not final (lost), e.g. ${lostIds.slice(0, 3).join(", ")}`,
    );
  }
  if (duplicates.length > 0) {
    failures.push(
      `crash: ${duplicates.length} messages sent more than once, e.g. ${duplicates[0].message_id}`,
    );
  }
  if (accepted.size === 0) {
    failures.push("crash: no message was accepted");
  }
  const otherStatuses = [...statuses]
    .filter(([code]) => code !== 202)
    .map(([code, n]) => `${code === 0 ? "no answer" : code}×${n}`)
    .join(", ");
  const errorText = [...errors].map(([code, n]) => `${code}×${n}`).join(", ");
  const seconds = (ms) => format(ms / 1000);
  const table = markdownTable(
    ["figure", "value"],
    [
      [
        "202s (accepted)",
        `${accepted.size} (${acceptedBefore} before the kill, ${accepted.size - acceptedBefore} after the restart)`,
      ],
      ["other answers", otherStatuses || "none"],
      ["connection errors (expected around the kill)", errorText || "none"],
      [
        "killed at / up again at",
        `${seconds(killedAt - started)} s / ${seconds(restartedAt - started)} s into the burst`,
      ],
      ["final", `${finalCount} of ${accepted.size}`],
      ["final states of the 202s", [...finalByStatus].map(([s, n]) => `${s} ${n}`).join(", ")],
      [
        "lost (202 but not final, or missing)",
        `${lostIds.length} (${missing} missing from the send log) ${passFail(lostIds.length === 0)}`,
      ],
      [
        "duplicates (more than one `sent` attempt)",
        `${duplicates.length} ${passFail(duplicates.length === 0)}`,
      ],
      [
        "claims with no recorded attempt (provider call may have happened unrecorded)",
        String(unrecorded.length),
      ],
      [
        "accepted without a 202 (in flight at the kill, or answered after it)",
        String(unacknowledged),
      ],
      [
        "time to settle (all 202s final)",
        settledAt
          ? `${seconds(settledAt - loadEnded)} s after the load ended, ${seconds(settledAt - restartedAt)} s after the restart`
          : `not within ${settings.crashSettleTimeout} s`,
      ],
    ],
  );
  const markdown = `## 3. Crash under load: nothing lost, nothing sent twice

- Run: ${startedIso}, ${loadLine(before)} before the run
- Load: ${settings.connections} clients (Node fetch, keep-alive) sending \`POST /v1/messages\` for ${settings.crashDuration} s, one tenant (send rate ${settings.sendRate} msg/s), a different recipient per request
- Crash: SIGKILL to wrangler and workerd at ${settings.crashKillAt} s; a new \`wrangler dev\` on the same state and port at once; the clients keep sending until the burst's end
- Settings for this run: ${Object.entries(CRASH_VARS)
    .map(([k, v]) => `\`${k}\` ${v}`)
    .join(", ")}; settle bound ${settings.crashSettleTimeout} s
- Checked: the send log through the API until every 202 is final, then the stopped server's D1 (\`messages\`, \`message_attempts\`)

${table}

${failures.length === 0 ? "Verdict: **PASS**: every 202 reached a final state and none was sent twice." : `Verdict: **FAIL**: ${failures.join("; ")}.`}${
  unrecorded.length > 0
    ? `\n\nClaims with no recorded attempt, e.g.: ${unrecorded
        .slice(0, 3)
        .map(
          (r) => `${r.id} (${r.status}, attempt_count ${r.attempt_count}, recorded ${r.recorded})`,
        )
        .join("; ")}.`
    : ""
}`;
  return { markdown, failures };
}
