/**
 * What `npm run deploy` must create on the Cloudflare account for a wrangler.toml, given what
 * exists there already: pure (no I/O), so a test checks it against the real wrangler.toml. Every
 * kind of binding the Worker's config may hold is either provisioned here or listed as needing
 * nothing; an unknown kind throws, so a new binding cannot be added without teaching the deploy.
 */

/** Top-level wrangler.toml keys that are not resources to provision. */
const SETTINGS = new Set([
  "name",
  "main",
  "compatibility_date",
  "compatibility_flags",
  "vars",
  "secrets",
  "triggers",
  "observability",
  "migrations",
  "routes",
  "route",
  "workers_dev",
  "account_id",
  "limits",
  "placement",
  "build",
  "minify",
  "env",
]);

/**
 * Bindings that come with the deploy itself: Durable Objects (created by the Worker's
 * `[[migrations]]`), static assets (uploaded by `wrangler deploy`), Analytics Engine datasets
 * (created by their first write).
 */
const WITH_THE_DEPLOY = new Set(["durable_objects", "assets", "analytics_engine_datasets"]);

/** Provisioned here. */
const PROVISIONED = new Set(["d1_databases", "queues"]);

/** Every queue the config names: producers, consumers and each consumer's dead-letter queue. */
export function queuesOf(config) {
  const names = new Set();
  for (const producer of config.queues?.producers ?? []) {
    names.add(producer.queue);
  }
  for (const consumer of config.queues?.consumers ?? []) {
    names.add(consumer.queue);
    if (consumer.dead_letter_queue) {
      names.add(consumer.dead_letter_queue);
    }
  }
  return [...names];
}

/**
 * The steps, in order, for `config` (parsed wrangler.toml) when the account already has
 * `existing` = { d1: [database names], queues: [queue names], secrets: [secret names] }.
 */
export function planDeploy(config, existing = {}) {
  for (const key of Object.keys(config)) {
    if (!SETTINGS.has(key) && !WITH_THE_DEPLOY.has(key) && !PROVISIONED.has(key)) {
      throw new Error(
        `wrangler.toml has "${key}", which scripts/deploy-plan.mjs does not provision`,
      );
    }
  }
  const d1 = new Set(existing.d1 ?? []);
  const queues = new Set(existing.queues ?? []);
  const secrets = new Set(existing.secrets ?? []);
  const steps = [];
  for (const database of config.d1_databases ?? []) {
    if (!d1.has(database.database_name)) {
      steps.push({ kind: "create-d1", name: database.database_name, binding: database.binding });
    }
    steps.push({ kind: "set-d1-id", name: database.database_name, binding: database.binding });
  }
  for (const queue of queuesOf(config)) {
    if (!queues.has(queue)) {
      steps.push({ kind: "create-queue", name: queue });
    }
  }
  for (const secret of config.secrets?.required ?? []) {
    if (!secrets.has(secret)) {
      steps.push({ kind: "put-secret", name: secret });
    }
  }
  for (const database of config.d1_databases ?? []) {
    steps.push({ kind: "migrate-d1", name: database.database_name, binding: database.binding });
  }
  steps.push({ kind: "deploy" });
  return steps;
}

/** The URLs to give carriers and WeChat, for a deployment at `baseUrl`. */
export function callbackUrls(baseUrl) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    sms_status: `${base}/hooks/sms/{provider}/{hook_token}/status`,
    sms_inbound: `${base}/hooks/sms/{provider}/{hook_token}/inbound`,
    wechat: `${base}/wechat/{app_id}`,
    api: `${base}/v1`,
    docs: `${base}/docs`,
    dashboard: `${base}/dashboard`,
    healthz: `${base}/healthz`,
  };
}
