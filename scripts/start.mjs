/**
 * `npm start`: prepares the local state (secrets, migrations, demo tenant), then runs `wrangler
 * dev` in the foreground and prints the demo credentials once the Worker answers. Arguments after
 * `npm start --` go to `wrangler dev`; PORT changes the port (default 8787).
 */
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import {
  newMasterKey,
  newPlatformKey,
  nodeBinary,
  prepareDatabase,
  WRANGLER_JS,
  wranglerEnv,
} from "./local-server.mjs";
import {
  DEMO_CONTACT,
  DEMO_OPENID,
  DEMO_TEMPLATE_ID,
  DEMO_WECHAT_APP_ID,
  LOCAL_CREDENTIALS_FILE,
  loadLocalCredentials,
  ROOT,
} from "./seed.mjs";

const PORT = Number(process.env.PORT ?? 8787);
const BASE_URL = `http://127.0.0.1:${PORT}`;

/**
 * Creates .dev.vars from the example, or fills in a MASTER_KEY or PLATFORM_KEY left empty;
 * returns both.
 */
function ensureDevVars() {
  const masterKey = ensureDevVar("MASTER_KEY", newMasterKey);
  const platformKey = ensureDevVar("PLATFORM_KEY", newPlatformKey);
  return { masterKey, platformKey };
}

/** The value of `name` in .dev.vars, generated and written there when missing or empty. */
function ensureDevVar(name, generate) {
  const devVars = join(ROOT, ".dev.vars");
  if (!existsSync(devVars)) {
    const example = join(ROOT, ".dev.vars.example");
    if (existsSync(example)) {
      copyFileSync(example, devVars);
    } else {
      writeFileSync(devVars, "MASTER_KEY=\n");
    }
  }
  const text = readFileSync(devVars, "utf8");
  const line = new RegExp(`^${name}[ \\t]*=[ \\t]*(.*)$`, "m").exec(text);
  const existing = line?.[1]?.trim().replace(/^(["'])(.*)\1$/, "$2");
  if (existing) {
    return existing;
  }
  const value = generate();
  const assignment = `${name}=${value}`;
  const updated = line
    ? text.replace(line[0], assignment)
    : `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${assignment}\n`;
  writeFileSync(devVars, updated);
  console.log(`Wrote a new ${name} to .dev.vars`);
  return value;
}

function banner(credentials, platformKey) {
  const lines = [
    "",
    "  ┌──────────────────────────────────────────────────────────────",
    `  │ Relaybox is running at ${BASE_URL}`,
    "  │",
    `  │ API key      ${credentials.apiKey}`,
    "  │              (test mode: sends only through the sandbox; reads, but cannot change,",
    "  │               configuration)",
    `  │ Live key     ${credentials.liveApiKey}`,
    "  │              (change configuration with it; its messages go to the carriers you set up)",
    `  │ Dashboard    ${BASE_URL}/dashboard`,
    `  │   email      ${credentials.email}`,
    `  │   password   ${credentials.password}`,
    `  │ API docs     ${BASE_URL}/docs`,
    "  │",
    `  │ Platform key ${platformKey}`,
    "  │              (the platform admin's, for /v1/platform/* only; kept in .dev.vars)",
    '  │   npm run tenant -- create --name "Acme" --country CN --owner-email owner@acme.test',
    "  │   npm run tenant -- list | suspend <tnt_…> | resume <tnt_…>",
    "  │",
    "  │ Send a message (numbers ending 0000 fail, 0001 retry, 0002 expire):",
    `  │   curl -X POST ${BASE_URL}/v1/messages \\`,
    `  │     -H "Authorization: Bearer ${credentials.apiKey}" \\`,
    '  │     -H "Content-Type: application/json" \\',
    `  │     -d '{"to": "+8613800138000", "body": "Hello from Relaybox"}'`,
    "  │ Or from the approved demo template:",
    `  │     -d '{"to": "+8613800138000", "template_id": "${DEMO_TEMPLATE_ID}",`,
    `  │          "variables": {"code": "482913", "minutes": 5}}'`,
    "  │",
    `  │ WeChat sandbox app ${DEMO_WECHAT_APP_ID} (safe mode; WeChat's API played at /sandbox/wechat)`,
    `  │   contact "${DEMO_CONTACT}" is its follower ${DEMO_OPENID}. A follower writes in:`,
    `  │   curl -X POST ${BASE_URL}/v1/sandbox/wechat/${DEMO_WECHAT_APP_ID}/messages \\`,
    `  │     -H "Authorization: Bearer ${credentials.apiKey}" \\`,
    '  │     -H "Content-Type: application/json" \\',
    `  │     -d '{"openid": "${DEMO_OPENID}", "text": "hello"}'`,
    "  │",
    "  │ SMS sandbox inbound hook (a customer's SMS to the demo tenant; the desk's walkthrough):",
    `  │   curl -X POST ${BASE_URL}/hooks/sms/sandbox/${credentials.hookToken}/inbound \\`,
    `  │     -d '{"from": "+8613800138001", "to": "+8610690000", "body": "人工"}'`,
    "  │",
    "  │ For the README's commands, paste into your shell:",
    `  │   export API=${BASE_URL} BASE=${BASE_URL}`,
    `  │   export KEY=${credentials.apiKey} LIVE=${credentials.liveApiKey}`,
    `  │   export HOOK_TOKEN=${credentials.hookToken}`,
    "  │",
    `  │ Credentials are kept in ${relative(ROOT, LOCAL_CREDENTIALS_FILE)}; delete it for new ones.`,
    "  └──────────────────────────────────────────────────────────────",
    "",
  ];
  console.log(lines.join("\n"));
}

async function printBannerWhenReady(credentials, platformKey, child) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    try {
      const response = await fetch(`${BASE_URL}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) {
        banner(credentials, platformKey);
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  if (child.exitCode === null && child.signalCode === null) {
    console.warn(`\n${BASE_URL}/healthz did not answer yet; the credentials are:`);
    banner(credentials, platformKey);
  }
}

async function main() {
  const { masterKey, platformKey } = ensureDevVars();
  const credentials = loadLocalCredentials();
  console.log("Applying local D1 migrations and the demo seed…");
  await prepareDatabase({ credentials, wechatSandbox: { masterKey, publicBaseUrl: BASE_URL } });

  // The local WeChat sandbox: on here, off in wrangler.toml (so in every deployment).
  const args = ["dev", "--ip", "127.0.0.1", "--port", String(PORT)];
  args.push("--var", "WECHAT_SANDBOX_ENABLED:true");
  if (PORT !== 8787) {
    // The sandbox carrier posts its receipts to PUBLIC_BASE_URL (wrangler.toml says 8787).
    args.push("--var", `PUBLIC_BASE_URL:${BASE_URL}`);
  }
  args.push(...process.argv.slice(2));
  const child = spawn(nodeBinary(), [WRANGLER_JS, ...args], {
    cwd: ROOT,
    env: wranglerEnv(),
    stdio: "inherit",
  });

  // A terminal's Ctrl-C reaches wrangler directly (same process group); forwarding still matters
  // when only this process is signalled, e.g. by npm or a process manager. Once is enough.
  let forwarded = false;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      if (!forwarded) {
        forwarded = true;
        child.kill(signal);
      }
    });
  }
  child.on("exit", (code, signal) => {
    process.exit(code ?? (signal ? 0 : 1));
  });
  // npm passes SIGTERM to its shell, which dies without passing it on; left alone, wrangler would
  // keep port 8787 after `npm start` is gone. An orphaned start.mjs is reparented: stop then.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && !forwarded) {
      forwarded = true;
      child.kill("SIGTERM");
    }
  }, 1000).unref();

  await printBannerWhenReady(credentials, platformKey, child);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
