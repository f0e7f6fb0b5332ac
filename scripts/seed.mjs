/**
 * The local demo tenant: its SQL and the credentials behind it. Credentials are generated once and
 * kept in `.relaybox/local.json` (gitignored), so `npm start` prints the same API key and login
 * every time and applying the seed again changes nothing.
 */
import {
  createCipheriv,
  createHash,
  hkdfSync,
  pbkdf2Sync,
  randomBytes,
  randomInt,
} from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const LOCAL_CREDENTIALS_FILE = join(ROOT, ".relaybox", "local.json");

export const DEMO_TENANT_ID = "tnt_demo";
export const DEMO_EMAIL = "admin@relaybox.local";
// Every scope of src/domain/scopes.ts (admin includes the rest; listed so a key shows them).
const SCOPES = [
  "messages:send",
  "messages:read",
  "templates:read",
  "templates:write",
  "templates:review",
  "content:read",
  "content:write",
  "admin",
];
/** An approved verification template and signature, so a new user can send from one at once. */
export const DEMO_TEMPLATE_ID = "tpl_DEMOVERIFICATIONCODE000001";
const DEMO_SIGNATURE_ID = "sig_DEMORELAYBOXSIGNATURE00001";
const DEMO_TEMPLATE_VARIABLES = [
  { name: "code", type: "code", maxLength: 8 },
  { name: "minutes", type: "number", maxLength: 2 },
];
/**
 * The demo's WeChat app, served by the local WeChat sandbox (`/sandbox/wechat`, on under `npm
 * start`): an account in safe mode, as WeChat's console recommends, with the sandbox's own
 * settings (not secrets: the sandbox is on this machine). `demo-user` is bound to its first
 * follower, and has a phone for `channel: "auto"`.
 */
export const DEMO_WECHAT_APP_ID = "wx5a4db0c000000001";
const DEMO_WECHAT_SECRETS = {
  app_secret: "5a4db0c5a4db0c5a4db0c5a4db0c5a4d",
  token: "relaybox",
  encoding_aes_key: "5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5a4db0c5",
};
export const DEMO_CONTACT = "demo-user";
export const DEMO_CONTACT_PHONE = "+8613800138000";
/** The sandbox's first follower (src/durable-objects/wechat-sandbox/state.ts). */
export const DEMO_OPENID = "oSandboxFollower000000000001";
const DEMO_CONTACT_ID = "ctc_DEMOCONTACTDEMOUSER000001";

// Same as src/lib/crypto.ts: workerd refuses PBKDF2 above 100,000 iterations.
const PBKDF2_ITERATIONS = 100_000;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

function base62(length) {
  let out = "";
  for (let i = 0; i < length; i++) {
    out += BASE62.charAt(randomInt(BASE62.length));
  }
  return out;
}

/** Ids in the Worker's own format (src/lib/ids.ts), so seeded rows sort like any other. */
function newId(prefix, nowMs) {
  let time = "";
  let value = nowMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD.charAt(value % 32) + time;
    value = Math.floor(value / 32);
  }
  let random = "";
  for (let i = 0; i < 16; i++) {
    random += CROCKFORD.charAt(randomInt(32));
  }
  return `${prefix}_${time}${random}`;
}

function hashPassword(password) {
  const salt = randomBytes(16);
  const hash = pbkdf2Sync(password, salt, PBKDF2_ITERATIONS, 32, "sha256");
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${salt.toString("hex")}$${hash.toString("hex")}`;
}

function generateCredentials(nowMs) {
  const apiKey = `rbx_test_${base62(32)}`;
  const password = base62(20);
  return {
    createdAt: nowMs,
    apiKeyId: newId("key", nowMs),
    apiKey,
    userId: newId("usr", nowMs),
    email: DEMO_EMAIL,
    password,
    // The hash is stored too: a fresh salt on every start would make the seed rewrite the row.
    passwordHash: hashPassword(password),
    providerSettingsId: newId("prv", nowMs),
    hookToken: base62(32),
    ...liveKeyCredentials(nowMs),
  };
}

/** The demo's live admin key: test keys create only test keys, so the live one is seeded. */
function liveKeyCredentials(nowMs) {
  return { liveApiKeyId: newId("key", nowMs), liveApiKey: `rbx_live_${base62(32)}` };
}

/**
 * Reads the demo credentials, creating them on first use. Writes through a temporary file and a
 * rename so two harnesses starting at once never see a half-written file.
 */
export function loadLocalCredentials(file = LOCAL_CREDENTIALS_FILE) {
  try {
    const stored = JSON.parse(readFileSync(file, "utf8"));
    if (stored.liveApiKey) {
      return stored;
    }
    // Written before the demo had a live key: add one, keep the rest.
    const credentials = { ...stored, ...liveKeyCredentials(Date.now()) };
    writeCredentials(file, credentials);
    return credentials;
  } catch (error) {
    if (error.code !== "ENOENT") {
      throw new Error(`${file} is unreadable; delete it to generate new credentials`, {
        cause: error,
      });
    }
  }
  const credentials = generateCredentials(Date.now());
  writeCredentials(file, credentials);
  return credentials;
}

function writeCredentials(file, credentials) {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

/** src/lib/secrets.ts `encryptSecret`, in Node: AES-256-GCM under a key HKDF derives per purpose. */
function encryptSecret(masterKey, purpose, plaintext) {
  const key = Buffer.from(
    hkdfSync(
      "sha256",
      Buffer.from(masterKey, "base64"),
      Buffer.alloc(0),
      `relaybox ${purpose} v1`,
      32,
    ),
  );
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(purpose));
  const ciphertext = Buffer.concat([
    cipher.update(plaintext, "utf8"),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return `v1.${iv.toString("base64")}.${ciphertext.toString("base64")}`;
}

function quote(value) {
  return `'${String(value).replaceAll("'", "''")}'`;
}

/**
 * The demo's sandbox WeChat app, contact and binding. The app is upserted, so its API stays the
 * sandbox of this server (the port may change) and its secrets readable under this MASTER_KEY;
 * the contact and binding are only inserted.
 */
function wechatSandboxSql({ masterKey, publicBaseUrl, at }) {
  const secrets = encryptSecret(
    masterKey,
    "provider-credentials",
    JSON.stringify(DEMO_WECHAT_SECRETS),
  );
  const apiBaseUrl = `${publicBaseUrl.replace(/\/+$/, "")}/sandbox/wechat`;
  return `
INSERT INTO wechat_apps (app_id, tenant_id, mode, secret_ciphertext, api_base_url, token_endpoint, account_type, verified, created_at, updated_at)
VALUES (${quote(DEMO_WECHAT_APP_ID)}, ${quote(DEMO_TENANT_ID)}, 'safe', ${quote(secrets)}, ${quote(apiBaseUrl)}, 'stable_token', 'service', 1, ${at}, ${at})
ON CONFLICT (app_id) DO UPDATE SET mode = excluded.mode, secret_ciphertext = excluded.secret_ciphertext,
  api_base_url = excluded.api_base_url, token_endpoint = excluded.token_endpoint,
  account_type = excluded.account_type, verified = excluded.verified
  WHERE wechat_apps.tenant_id = ${quote(DEMO_TENANT_ID)};

INSERT INTO contacts (id, tenant_id, external_id, name, phone, created_at, updated_at)
VALUES (${quote(DEMO_CONTACT_ID)}, ${quote(DEMO_TENANT_ID)}, ${quote(DEMO_CONTACT)}, 'Demo User', ${quote(DEMO_CONTACT_PHONE)}, ${at}, ${at})
ON CONFLICT DO NOTHING;

INSERT INTO contact_wechat_bindings (contact_id, tenant_id, app_id, openid, source, created_at)
SELECT id, tenant_id, ${quote(DEMO_WECHAT_APP_ID)}, ${quote(DEMO_OPENID)}, 'api', ${at} FROM contacts
WHERE tenant_id = ${quote(DEMO_TENANT_ID)} AND external_id = ${quote(DEMO_CONTACT)}
ON CONFLICT DO NOTHING;
`;
}

/**
 * Idempotent SQL for the demo tenant. The tenant and its provider settings are only inserted, so
 * edits made in the dashboard survive a restart; the key and the login are upserted, so what the
 * banner prints always works (a revoked demo key is revived, a changed password reset). With
 * `wechatSandbox` ({masterKey, publicBaseUrl}), the demo's sandbox WeChat app and contact too.
 */
export function seedSql(credentials, { wechatSandbox } = {}) {
  const c = credentials;
  const keyHash = createHash("sha256").update(c.apiKey).digest("hex");
  const prefix = c.apiKey.slice(0, 13);
  const at = c.createdAt;
  return `INSERT INTO tenants (id, name, home_country, allowed_countries, send_rate, signature, created_at)
VALUES (${quote(DEMO_TENANT_ID)}, 'Relaybox Demo', 'CN', ${quote(JSON.stringify(["CN", "US", "GB"]))}, 50, '【Relaybox】', ${at})
ON CONFLICT (id) DO UPDATE SET signature = coalesce(tenants.signature, excluded.signature);

INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, mode, scopes, created_at, revoked_at)
VALUES (${quote(c.apiKeyId)}, ${quote(DEMO_TENANT_ID)}, 'Local demo key', ${quote(prefix)}, ${quote(keyHash)}, 'test', ${quote(JSON.stringify(SCOPES))}, ${at}, NULL)
ON CONFLICT (id) DO UPDATE SET prefix = excluded.prefix, key_hash = excluded.key_hash,
  mode = excluded.mode, scopes = excluded.scopes, revoked_at = NULL;

INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, mode, scopes, created_at, revoked_at)
VALUES (${quote(c.liveApiKeyId)}, ${quote(DEMO_TENANT_ID)}, 'Local demo live key', ${quote(c.liveApiKey.slice(0, 13))}, ${quote(createHash("sha256").update(c.liveApiKey).digest("hex"))}, 'live', ${quote(JSON.stringify(SCOPES))}, ${at}, NULL)
ON CONFLICT (id) DO UPDATE SET prefix = excluded.prefix, key_hash = excluded.key_hash,
  mode = excluded.mode, scopes = excluded.scopes, revoked_at = NULL;

INSERT INTO users (id, tenant_id, email, password_hash, role, created_at)
VALUES (${quote(c.userId)}, ${quote(DEMO_TENANT_ID)}, ${quote(c.email)}, ${quote(c.passwordHash)}, 'owner', ${at})
ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, role = 'owner'
  -- Only when something changed: any update of a user's row signs them out (migration 0013).
  WHERE users.password_hash IS NOT excluded.password_hash OR users.role IS NOT 'owner';

INSERT INTO provider_settings (id, tenant_id, provider, enabled, config, secret_ciphertext, hook_token, created_at, updated_at)
VALUES (${quote(c.providerSettingsId)}, ${quote(DEMO_TENANT_ID)}, 'sandbox', 1, '{}', NULL, ${quote(c.hookToken)}, ${at}, ${at})
ON CONFLICT DO NOTHING;

INSERT INTO signatures (id, tenant_id, name, status, review_reason, reviewed_by, submitted_at, reviewed_at, created_at, updated_at)
VALUES (${quote(DEMO_SIGNATURE_ID)}, ${quote(DEMO_TENANT_ID)}, 'Relaybox', 'approved', NULL, 'seed', ${at}, ${at}, ${at}, ${at})
ON CONFLICT DO NOTHING;

INSERT INTO templates (id, tenant_id, name, kind, latest_version, approved_version, created_at, updated_at)
VALUES (${quote(DEMO_TEMPLATE_ID)}, ${quote(DEMO_TENANT_ID)}, 'Verification code', 'verification', 1, 1, ${at}, ${at})
ON CONFLICT DO NOTHING;

INSERT INTO template_versions (template_id, version, tenant_id, body, variables, status, review_reason, reviewed_by, submitted_at, reviewed_at, created_at)
VALUES (${quote(DEMO_TEMPLATE_ID)}, 1, ${quote(DEMO_TENANT_ID)}, 'Your verification code is {{code}}. It expires in {{minutes}} minutes.', ${quote(JSON.stringify(DEMO_TEMPLATE_VARIABLES))}, 'approved', NULL, 'seed', ${at}, ${at}, ${at})
ON CONFLICT DO NOTHING;
${wechatSandbox ? wechatSandboxSql({ ...wechatSandbox, at }) : ""}`;
}

/** A new API key in the Worker's format (`rbx_test_` or `rbx_live_` + 32 base62 characters). */
export function newApiKey(mode = "test") {
  return `rbx_${mode}_${base62(32)}`;
}

/**
 * SQL for one more tenant (the benchmark's): the tenant, one API key with every scope (live or test
 * by its prefix), optionally a live admin key (test keys cannot change configuration), and sandbox
 * provider settings. `keyRateLimit` sets the key's own request limit (migration 0002's columns):
 * leave it out on a schema without them.
 * @param {object} options
 * @param {string} options.tenantId
 * @param {string} options.apiKey  e.g. from `newApiKey()`
 * @param {string} [options.adminKey]  a `newApiKey("live")` for setting the tenant up
 * @param {number} [options.sendRate]  the tenant's release rate, msg/s
 * @param {{ perSecond: number, burst: number }} [options.keyRateLimit]
 */
export function tenantSql({
  tenantId,
  apiKey,
  adminKey,
  sendRate = 50,
  keyRateLimit,
  nowMs = Date.now(),
}) {
  const keyHash = createHash("sha256").update(apiKey).digest("hex");
  const keyId = newId("key", nowMs);
  const admin = adminKey
    ? `
INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, mode, scopes, created_at, revoked_at)
VALUES (${quote(newId("key", nowMs))}, ${quote(tenantId)}, 'Benchmark admin key', ${quote(adminKey.slice(0, 13))}, ${quote(createHash("sha256").update(adminKey).digest("hex"))}, 'live', ${quote(JSON.stringify(SCOPES))}, ${nowMs}, NULL);`
    : "";
  const countries = JSON.stringify(["CN", "US", "GB"]);
  const limits = keyRateLimit
    ? `\nUPDATE api_keys SET rate_limit_per_second = ${Math.trunc(keyRateLimit.perSecond)}, rate_limit_burst = ${Math.trunc(keyRateLimit.burst)} WHERE id = ${quote(keyId)};`
    : "";
  return `INSERT INTO tenants (id, name, home_country, allowed_countries, send_rate, signature, created_at)
VALUES (${quote(tenantId)}, ${quote(`Tenant ${tenantId}`)}, 'CN', ${quote(countries)}, ${Math.trunc(sendRate)}, '【Relaybox】', ${nowMs})
ON CONFLICT (id) DO UPDATE SET send_rate = excluded.send_rate;

INSERT INTO api_keys (id, tenant_id, name, prefix, key_hash, mode, scopes, created_at, revoked_at)
VALUES (${quote(keyId)}, ${quote(tenantId)}, 'Benchmark key', ${quote(apiKey.slice(0, 13))}, ${quote(keyHash)}, ${quote(apiKey.startsWith("rbx_live_") ? "live" : "test")}, ${quote(JSON.stringify(SCOPES))}, ${nowMs}, NULL);${limits}${admin}

INSERT INTO provider_settings (id, tenant_id, provider, enabled, config, secret_ciphertext, hook_token, created_at, updated_at)
VALUES (${quote(newId("prv", nowMs))}, ${quote(tenantId)}, 'sandbox', 1, '{}', NULL, ${quote(base62(32))}, ${nowMs}, ${nowMs})
ON CONFLICT DO NOTHING;
`;
}
