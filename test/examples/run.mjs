/**
 * Runs the standard-library examples (test/examples/python, test/examples/go) against a real
 * `wrangler dev` seeded with the demo tenant, so they cannot drift from the API: each must exit 0
 * having sent a message, read it back and verified its webhook. `npm run test:examples`; CI
 * installs Debian's python3 and golang first when missing.
 */
import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  removeStateDir,
  startLocalServer,
  temporaryStateDir,
} from "../../scripts/local-server.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));

const EXAMPLES = [
  { name: "python", command: "python3", args: ["relaybox_example.py"], cwd: join(HERE, "python") },
  // GOFLAGS=-mod=mod and no proxy: the example has no dependencies, nothing is downloaded.
  { name: "go", command: "go", args: ["run", "."], cwd: join(HERE, "go") },
];

function run({ command, args, cwd }, env) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: "pipe" });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", (error) => resolve({ code: -1, output: String(error) }));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

const only = process.argv.slice(2);
const persistTo = temporaryStateDir();
const server = await startLocalServer({ persistTo, vars: { WEBHOOK_ALLOW_LOCAL_HTTP: "true" } });
let failed = 0;
try {
  for (const example of EXAMPLES.filter((e) => only.length === 0 || only.includes(e.name))) {
    const { code, output } = await run(example, {
      RELAYBOX_URL: server.url,
      RELAYBOX_API_KEY: server.credentials.liveApiKey,
      GOFLAGS: "-mod=mod",
      GOPROXY: "off",
      GOTOOLCHAIN: "local",
      GOCACHE: join(persistTo, "go-cache"),
    });
    const ok = code === 0 && /verified webhook evt_/.test(output);
    console.log(`${ok ? "ok" : "FAILED"} ${example.name}\n${output.replace(/^/gm, "  ")}`);
    failed += ok ? 0 : 1;
  }
} finally {
  await server.stop();
  removeStateDir(persistTo);
}
process.exit(failed === 0 ? 0 : 1);
