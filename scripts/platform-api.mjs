/**
 * The platform admin's calls from the command line (`npm run tenant`, `npm run rotate-master-key`):
 * RELAYBOX_URL (default http://127.0.0.1:8787) and PLATFORM_KEY (from the environment, or locally
 * from .dev.vars, written by `npm start`). A refusal or an unreachable server ends the process with
 * the problem's text.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./seed.mjs";

export const BASE_URL = (process.env.RELAYBOX_URL ?? "http://127.0.0.1:8787").replace(/\/+$/, "");

export function fail(message) {
  console.error(message);
  process.exit(1);
}

function platformKey() {
  if (process.env.PLATFORM_KEY) {
    return process.env.PLATFORM_KEY;
  }
  const devVars = join(ROOT, ".dev.vars");
  const text = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
  const value = /^PLATFORM_KEY[ \t]*=[ \t]*(.*)$/m
    .exec(text)?.[1]
    ?.trim()
    .replace(/^(["'])(.*)\1$/, "$2");
  if (!value) {
    fail("No PLATFORM_KEY: set it in the environment, or run `npm start` once to write .dev.vars.");
  }
  return value;
}

/** `method path` with the platform key and a JSON body; the answer's JSON. */
export async function platformApi(method, path, body) {
  let res;
  try {
    res = await fetch(`${BASE_URL}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${platformKey()}`,
        ...(body ? { "content-type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (error) {
    fail(`Cannot reach ${BASE_URL} (${error.cause?.code ?? error.message}); is it running?`);
  }
  const payload = await res.json().catch(() => ({}));
  if (!res.ok) {
    const errors = (payload.errors ?? []).map((e) => `\n  ${e.pointer || "/"}: ${e.detail}`);
    fail(
      `${res.status} ${payload.title ?? res.statusText}: ${payload.detail ?? ""}${errors.join("")}`,
    );
  }
  return payload;
}
