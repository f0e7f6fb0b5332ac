/**
 * `npm run tenant -- <command>`: the platform admin's tenants, through the API
 * (`/v1/platform/tenants`), so it works the same against `npm start` and a deployment.
 *
 *   create --name "Acme" --country CN [--owner-email a@b.c] [--allowed CN,US] [--send-rate 50]
 *          [--currency CNY]
 *   list
 *   suspend <tnt_…>
 *   resume <tnt_…>
 *   send-log <tnt_…> <DB|SEND_LOG_…>   (the send-log partition its new messages go to)
 *
 * RELAYBOX_URL: where the Worker runs (default http://127.0.0.1:8787). PLATFORM_KEY: from the
 * environment, or locally from .dev.vars (written by `npm start`).
 */
import { parseArgs } from "node:util";
import { platformApi as api, fail } from "./platform-api.mjs";

const USAGE = `Usage: npm run tenant -- <command>
  create --name <name> --country <CC> [--owner-email <email>] [--allowed CC,CC] [--send-rate N] [--currency XXX]
  list
  suspend <tenant id>
  resume <tenant id>
  send-log <tenant id> <partition>   (DB or a SEND_LOG_* binding: where its new messages go)
Env: RELAYBOX_URL (default http://127.0.0.1:8787), PLATFORM_KEY (default: .dev.vars)`;

function describe(tenant) {
  const state = tenant.suspended_at ? `suspended since ${tenant.suspended_at}` : "active";
  const current = [tenant.send_log, ...(tenant.send_log_spread ?? [])].join(", ");
  const sendLog = [current, ...(tenant.previous_send_logs ?? [])].join(" + ");
  return `${tenant.id}  ${tenant.name}  (${tenant.home_country}; sends to ${tenant.allowed_countries.join(", ")}; ${tenant.send_rate}/s; send log ${sendLog}; ${state})`;
}

async function create(args) {
  const { values } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      country: { type: "string" },
      "owner-email": { type: "string" },
      allowed: { type: "string" },
      "send-rate": { type: "string" },
      currency: { type: "string" },
    },
  });
  if (!values.name || !values.country) {
    fail(USAGE);
  }
  const country = values.country.toUpperCase();
  const slug =
    values.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "tenant";
  const body = {
    name: values.name,
    home_country: country,
    owner_email: values["owner-email"] ?? `owner@${slug}.local`,
    ...(values.allowed ? { allowed_countries: values.allowed.toUpperCase().split(",") } : {}),
    ...(values["send-rate"] ? { send_rate: Number(values["send-rate"]) } : {}),
    ...(values.currency ? { currency: values.currency.toUpperCase() } : {}),
  };
  const created = await api("POST", "/v1/platform/tenants", body);
  console.log(
    [
      `Tenant     ${describe(created.tenant)}`,
      `Owner      ${created.owner.email} (${created.owner.id}, role owner, invited)`,
      `  Invitation link (pass it on; sets the password; once, until ${created.owner.invitation_expires_at}):`,
      `  ${created.owner.invitation_url}`,
      `API key    ${created.api_key.key}`,
      `           (${created.api_key.id}, live, admin; shown only now)`,
    ].join("\n"),
  );
}

async function list() {
  let cursor = null;
  let count = 0;
  do {
    const page = await api(
      "GET",
      `/v1/platform/tenants?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    for (const tenant of page.data) {
      console.log(describe(tenant));
      count++;
    }
    cursor = page.next_cursor;
  } while (cursor);
  if (count === 0) {
    console.log("No tenants.");
  }
}

async function main() {
  const [command, ...rest] = process.argv.slice(2);
  switch (command) {
    case "create":
      return create(rest);
    case "list":
      return list();
    case "suspend":
    case "resume": {
      const id = rest[0];
      if (!id) {
        fail(USAGE);
      }
      const tenant = await api("POST", `/v1/platform/tenants/${encodeURIComponent(id)}/${command}`);
      console.log(describe(tenant));
      return;
    }
    case "send-log": {
      const [id, partition] = rest;
      if (!id || !partition) {
        fail(USAGE);
      }
      const tenant = await api("PATCH", `/v1/platform/tenants/${encodeURIComponent(id)}`, {
        send_log: partition,
      });
      console.log(describe(tenant));
      return;
    }
    default:
      fail(USAGE);
  }
}

await main();
