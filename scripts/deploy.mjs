/**
 * `npm run deploy`: one command from a Cloudflare login to a running Relaybox. Reads wrangler.toml,
 * lists what the account has, and then, by scripts/deploy-plan.mjs's plan: creates the D1
 * database(s) that are missing (and writes their ids into wrangler.toml), creates every queue and
 * dead-letter queue that is missing, reads each required secret that is not set yet (from the
 * environment, else asks; MASTER_KEY and PLATFORM_KEY are generated when left empty), applies the
 * remote migrations, deploys with the secrets, and prints the URLs for carriers and WeChat.
 * Running it again changes nothing that exists: it only lists, migrates (a no-op when current) and
 * deploys.
 *
 *   npx wrangler login
 *   PUBLIC_BASE_URL=https://sms.example.com npm run deploy
 *
 * Never prints a secret it did not generate; generated ones are printed once, to be kept safe.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline/promises";
import { parse } from "smol-toml";
import { callbackUrls, planDeploy, queuesOf } from "./deploy-plan.mjs";
import { nodeBinary, WRANGLER_JS, wranglerEnv } from "./local-server.mjs";
import { ROOT } from "./seed.mjs";

const CONFIG = join(ROOT, "wrangler.toml");
const PLACEHOLDER_ID = "00000000-0000-0000-0000-000000000000";

/** Runs wrangler; resolves with {code, stdout, stderr}; `inherit` shows its output as it goes. */
function wrangler(args, { inherit = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(nodeBinary(), [WRANGLER_JS, ...args], {
      cwd: ROOT,
      env: wranglerEnv(),
      stdio: ["inherit", inherit ? "inherit" : "pipe", inherit ? "inherit" : "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr?.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

async function must(args, options) {
  const result = await wrangler(args, options);
  if (result.code !== 0) {
    throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}${result.stderr}`);
  }
  return result;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const GENERATORS = {
  MASTER_KEY: () => randomBytes(32).toString("base64"),
  PLATFORM_KEY: () =>
    `rbx_platform_${Array.from({ length: 32 }, () => BASE62[randomInt(62)]).join("")}`,
};

async function ask(question) {
  if (!process.stdin.isTTY) {
    return "";
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

async function existingResources(config) {
  const d1 = JSON.parse((await must(["d1", "list", "--json"])).stdout).map((db) => db.name);
  const queues = [];
  for (const name of queuesOf(config)) {
    if ((await wrangler(["queues", "info", name])).code === 0) {
      queues.push(name);
    }
  }
  // A Worker never deployed has no secrets (and `secret list` fails for it).
  const listed = await wrangler(["secret", "list", "--format", "json"]);
  const secrets = listed.code === 0 ? JSON.parse(listed.stdout).map((s) => s.name) : [];
  return { d1, queues, secrets };
}

async function databaseId(name) {
  const databases = JSON.parse((await must(["d1", "list", "--json"])).stdout);
  const found = databases.find((db) => db.name === name);
  if (!found) {
    throw new Error(`D1 database ${name} is not on the account`);
  }
  return found.uuid;
}

/** Writes `id` as the database_id of the [[d1_databases]] block naming `name`. */
function writeDatabaseId(name, id) {
  const text = readFileSync(CONFIG, "utf8");
  const block = new RegExp(
    `(database_name\\s*=\\s*"${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"\\s*\\n\\s*database_id\\s*=\\s*")[^"]*(")`,
  );
  if (!block.test(text)) {
    throw new Error(`wrangler.toml: put database_id = "${id}" under database_name = "${name}"`);
  }
  writeFileSync(CONFIG, text.replace(block, `$1${id}$2`));
}

async function main() {
  const config = parse(readFileSync(CONFIG, "utf8"));
  const publicUrl = (process.env.PUBLIC_BASE_URL ?? config.vars?.PUBLIC_BASE_URL ?? "").replace(
    /\/+$/,
    "",
  );
  if (!/^https:\/\//.test(publicUrl)) {
    throw new Error(
      "Set PUBLIC_BASE_URL to the deployment's https origin (your custom domain, or https://relaybox.<subdomain>.workers.dev): carriers and WeChat call it.",
    );
  }
  await must(["whoami"], { inherit: true });
  console.log("Listing what the account has…");
  const steps = planDeploy(config, await existingResources(config));
  const secrets = {};
  const generated = [];
  for (const step of steps) {
    switch (step.kind) {
      case "create-d1":
        console.log(`Creating D1 database ${step.name}`);
        await must(["d1", "create", step.name]);
        break;
      case "set-d1-id": {
        const id = await databaseId(step.name);
        const current = config.d1_databases.find(
          (db) => db.database_name === step.name,
        )?.database_id;
        if (current !== id) {
          if (current && current !== PLACEHOLDER_ID) {
            console.log(
              `wrangler.toml had database_id ${current} for ${step.name}; the account's is ${id}`,
            );
          }
          writeDatabaseId(step.name, id);
          console.log(`wrangler.toml: ${step.binding} → ${step.name} (${id})`);
        }
        break;
      }
      case "create-queue":
        console.log(`Creating queue ${step.name}`);
        await must(["queues", "create", step.name]);
        break;
      case "put-secret": {
        let value = process.env[step.name] ?? "";
        if (!value) {
          const hint = GENERATORS[step.name] ? " (empty: generate one)" : "";
          value = await ask(`${step.name}${hint}: `);
        }
        if (!value && GENERATORS[step.name]) {
          value = GENERATORS[step.name]();
          generated.push(step.name);
        }
        if (!value) {
          throw new Error(`${step.name} is required: set it in the environment`);
        }
        secrets[step.name] = value;
        break;
      }
      case "migrate-d1":
        console.log(`Applying migrations to ${step.name} (remote)`);
        await must(["d1", "migrations", "apply", step.name, "--remote"], { inherit: true });
        break;
      case "deploy": {
        const dir = mkdtempSync(join(tmpdir(), "relaybox-deploy-"));
        const secretsFile = join(dir, "secrets.json");
        try {
          const args = [
            "deploy",
            "--var",
            `PUBLIC_BASE_URL:${publicUrl}`,
            "--var",
            "ENVIRONMENT:production",
          ];
          if (Object.keys(secrets).length > 0) {
            writeFileSync(secretsFile, JSON.stringify(secrets), { mode: 0o600 });
            args.push("--secrets-file", secretsFile);
          }
          await must(args, { inherit: true });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
        break;
      }
      default:
        throw new Error(`unknown step ${step.kind}`);
    }
  }
  for (const name of generated) {
    console.log(`\nGenerated ${name} (shown once; keep it with your backups):\n  ${secrets[name]}`);
  }
  const urls = callbackUrls(publicUrl);
  console.log(`
Deployed. Give these to your carriers and to WeChat:
  SMS delivery receipts  ${urls.sms_status}
  SMS inbound            ${urls.sms_inbound}
  WeChat server URL      ${urls.wechat}   (Official Account → 基本配置 → 服务器地址)
Each tenant's exact carrier URLs (with its hook_token) are in GET /v1/providers → callback_urls.
  API ${urls.api}   docs ${urls.docs}   dashboard ${urls.dashboard}   health ${urls.healthz}
Create a tenant: RELAYBOX_URL=${publicUrl} PLATFORM_KEY=… npm run tenant -- create --name "Acme" --country CN`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
