/**
 * Chaos (run by `npm run bench`, or alone with `npm run bench -- --only chaos`): one tenant sends
 * `chaosMessages` messages (live mode, from a template Tencent knows by its code) routed to a fake
 * Twilio and a fake Tencent on loopback (fake-carriers.mjs), at equal weight, with failover between
 * them. The fakes answer 30% of sends with a 5xx and leave 10% unanswered (half of those after
 * accepting the message), and post receipts twice and out of order. Counted at the end: messages
 * in a final state (must be all), lost (accepted with a 202 and not final, or missing: must be
 * none), and, against the stopped server's D1 (carrier-checks.mjs): carrier acceptances with no
 * recorded attempt and claims with no recorded attempt (must be none), and messages accepted more
 * than once: each by one carrier only, with an attempt whose outcome was unknown (no answer),
 * which is the one window where a second send is possible.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { startLocalServer } from "../../scripts/local-server.mjs";
import {
  carrierFailures,
  carrierRows,
  compareWithCarriers,
  readSendLog,
} from "./carrier-checks.mjs";
import { startFakeCarriers } from "./fake-carriers.mjs";
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
  must,
  passFail,
  pool,
  recipient,
  sleep,
} from "./lib.mjs";

export const CHAOS_VARS = {
  RETRY_BASE_SECONDS: 1,
  RETRY_MAX_SECONDS: 4,
  MAX_ATTEMPTS: 8,
  RELEASE_TIMEOUT_SECONDS: 20,
  RECEIPT_DEADLINE_SECONDS: 30,
  // The fake carriers listen on http://127.0.0.1 (provider base URLs are https otherwise).
  WEBHOOK_ALLOW_LOCAL_HTTP: "true",
};
const TWILIO_TOKEN = "chaos-twilio-auth-token-0123456789";
const SETTLE_TIMEOUT_MS = 300_000;
/** The message's mark, in its text and in both carriers' requests: how the fakes count it. */
const markOf = (text) => /C\d+/.exec(text ?? "")?.[0] ?? null;

export async function runChaos(settings) {
  const persistTo = join(BENCH_DIR, "tmp", "chaos");
  rmSync(persistTo, { recursive: true, force: true });
  const before = machine().load;
  const startedIso = new Date().toISOString();
  const count = settings.chaosMessages;
  const { tenants, sql } = benchTenants(1, {
    prefix: "chaos",
    sendRate: 500,
    root: settings.source.dir,
    keyMode: "live", // test keys reach only the sandbox
  });
  let tencentHook = "";
  const fake = await startFakeCarriers({
    twilioToken: TWILIO_TOKEN,
    tencentHookUrl: () => tencentHook,
    keyOf: (text) => markOf(text) ?? text,
  });
  console.log(`chaos: fake carriers at ${fake.url}; starting a local server…`);
  const server = await startLocalServer({
    cwd: settings.source.dir,
    persistTo,
    vars: { ...settings.vars, ...CHAOS_VARS },
    logLevel: settings.wranglerLogLevel,
    extraSql: sql,
  });
  const failures = [];
  let stopped = false;
  try {
    const { tenantId, apiKey: live } = tenants[0];
    await must(server, "PUT", "/v1/providers/twilio", {
      key: live,
      json: {
        config: {
          account_sid: `AC${"c4".repeat(16)}`,
          from: "+14155550100",
          base_url: fake.url,
          timeout_ms: 1000,
        },
        credentials: { auth_token: TWILIO_TOKEN },
      },
    });
    const tencent = await must(server, "PUT", "/v1/providers/tencent", {
      key: live,
      json: {
        config: {
          secret_id: "AKIDchaos0000",
          sms_sdk_app_id: "1400000000",
          sign_name: "Relaybox",
          base_url: fake.url,
          timeout_ms: 1000,
        },
        credentials: { secret_key: "chaos-tencent-secret" },
      },
    });
    tencentHook = tencent.callback_urls.status;
    await must(server, "POST", "/v1/routes", {
      key: live,
      json: {
        destination: "CN",
        providers: [
          { provider: "twilio", priority: 1, weight: 1 },
          { provider: "tencent", priority: 1, weight: 1 },
        ],
      },
    });
    const template = await must(server, "POST", "/v1/templates", {
      key: live,
      json: {
        name: "Chaos",
        kind: "notification",
        body: "Order {{n}} is on its way.",
        variables: [{ name: "n", type: "code", max_length: 12 }],
      },
    });
    await must(server, "POST", `/v1/templates/${template.id}/submit`, { key: live, json: {} });
    await must(server, "POST", `/v1/templates/${template.id}/approve`, { key: live, json: {} });
    await must(server, "PUT", `/v1/templates/${template.id}/provider-codes`, {
      key: live,
      json: { tencent: "1110000" },
    });

    console.log(`chaos: sending ${count} messages through the fakes`);
    const ids = new Map(); // mark → message id
    const refused = new Map();
    const sendStarted = Date.now();
    await pool(count, 20, async (i) => {
      const mark = `C${i}`;
      const result = await call(server, "POST", "/v1/messages", {
        key: live,
        json: { to: recipient(i), template_id: template.id, variables: { n: mark } },
      });
      if (result.status === 202) {
        ids.set(mark, result.body.id);
      } else {
        refused.set(result.status, (refused.get(result.status) ?? 0) + 1);
      }
    });
    if (ids.size !== count) {
      failures.push(
        `chaos: ${ids.size} of ${count} accepted (${[...refused].map(([s, n]) => `${s}×${n}`).join(", ")})`,
      );
    }

    // Until every accepted message is final, bounded.
    let rows = [];
    let settledAt = null;
    while (Date.now() - sendStarted < SETTLE_TIMEOUT_MS) {
      await sleep(3000);
      rows = await listAll(server, live, { maxPages: 1000 });
      const open = rows.filter((row) => !FINAL_STATUSES.includes(row.status)).length;
      if (rows.length >= ids.size && open === 0) {
        settledAt = Date.now();
        break;
      }
      console.log(`chaos: ${rows.length} in the send log, ${open} not final yet`);
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    const finals = [...ids.values()].filter((id) => FINAL_STATUSES.includes(byId.get(id)?.status));
    const lost = ids.size - finals.length;
    const statuses = new Map();
    for (const id of ids.values()) {
      const status = byId.get(id)?.status ?? "missing";
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }

    // Every message's attempts, through the API.
    const idList = [...ids.values()];
    const attemptsOf = new Map();
    await pool(idList.length, 20, async (i) => {
      const message = await must(server, "GET", `/v1/messages/${idList[i]}`, { key: live });
      attemptsOf.set(idList[i], message.attempts);
    });
    const tally = new Map();
    for (const list of attemptsOf.values()) {
      for (const a of list) {
        const key = `${a.provider} ${a.outcome}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
    }
    const attempts = [...tally].sort().map(([key, n]) => ({ key, n }));
    const recorded = attempts.reduce((sum, a) => sum + a.n, 0);

    // The carriers' acceptances against the send log, from the stopped server's D1 (a running
    // one may hold writes in memory): attempt counts per message, claims without their attempt.
    await server.stop();
    stopped = true;
    const log = await readSendLog({ persistTo, cwd: settings.source.dir, tenantId });
    const found = compareWithCarriers({ accepted: fake.accepted, log, markOf });
    if (finals.length !== ids.size) {
      failures.push(`chaos: ${finals.length} of ${ids.size} final`);
    }
    if (lost > 0) {
      failures.push(`chaos: ${lost} lost`);
    }
    if (recorded !== fake.stats.requests) {
      failures.push(
        `chaos: ${recorded} attempts recorded for ${fake.stats.requests} carrier requests`,
      );
    }
    failures.push(...carrierFailures("chaos", found));
    const s = fake.stats;
    const table = markdownTable(
      ["figure", "value"],
      [
        ["messages accepted (202)", `${ids.size} of ${count}`],
        [
          "fake carriers' answers to sends",
          `${s.requests} requests: ${s.errors} 5xx, ${s.timeoutsBefore} unanswered before accepting, ${s.timeoutsAfter} unanswered after accepting, ${s.accepted - s.timeoutsAfter} accepted and answered`,
        ],
        ["receipts posted (each twice, `sent` after `delivered` for Twilio)", String(s.receipts)],
        [
          "attempts recorded (by provider and outcome)",
          `${recorded} for ${s.requests} carrier requests: ${attempts.map((a) => `${a.key} ${a.n}`).join("; ")}`,
        ],
        [
          "in a final state",
          `${finals.length} of ${ids.size} ${passFail(finals.length === ids.size)} (${[...statuses].map(([k, n]) => `${k} ${n}`).join(", ")})`,
        ],
        ["lost", `${lost} ${passFail(lost === 0)}`],
        ...carrierRows(found, passFail),
        [
          "settled",
          settledAt ? `${format((settledAt - sendStarted) / 1000)} s after the first send` : "no",
        ],
      ],
    );
    const markdown = `## 6. Chaos: two flaky carriers with failover

- Run: ${startedIso}, ${loadLine(before)} before the run
- One tenant (live key) at 500 msg/s, route CN → fake Twilio and fake Tencent at equal weight; ${count} messages from one template (Tencent knows it by code), 20 clients; the fakes (test/bench/fake-carriers.mjs, one seeded draw per send) answer 30% with 503, leave 10% unanswered (half after accepting), and post every receipt twice, Twilio's \`sent\` after its \`delivered\`, Tencent's in shuffled batches; adapter time-out 1 s; ${Object.entries(
      CHAOS_VARS,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}
- Counted from the API (statuses, attempts), from the fakes (acceptances per message, by the mark in its text) and from the stopped server's D1 (\`messages\`, \`message_attempts\`: attempts and claims per message)

${table}

${failures.length === 0 ? "Verdict: **PASS**." : `Verdict: **FAIL**: ${failures.join("; ")}.`}`;
    return { markdown, failures };
  } finally {
    if (!stopped) {
      await server.stop();
    }
    await fake.stop();
  }
}
