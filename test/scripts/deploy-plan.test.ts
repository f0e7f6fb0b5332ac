// `npm run deploy`'s plan (scripts/deploy-plan.mjs) against the real wrangler.toml: every binding
// is created or comes with the deploy, and a second run creates nothing.
import { parse } from "smol-toml";
import { describe, expect, it } from "vitest";
import { callbackUrls, planDeploy, queuesOf } from "../../scripts/deploy-plan.mjs";
import wranglerToml from "../../wrangler.toml?raw";

const config = parse(wranglerToml) as Record<string, unknown> & {
  d1_databases: { binding: string; database_name: string }[];
  queues: {
    producers: { binding: string; queue: string }[];
    consumers: { queue: string; dead_letter_queue?: string }[];
  };
  secrets: { required: string[] };
  durable_objects: { bindings: { name: string; class_name: string }[] };
  migrations: { new_sqlite_classes?: string[] }[];
};

const created = (kind: string, steps = planDeploy(config)) =>
  steps.filter((step) => step.kind === kind).map((step) => ("name" in step ? step.name : ""));

describe("the deploy plan for wrangler.toml", () => {
  it("creates every D1 database and migrates it", () => {
    const names = config.d1_databases.map((db) => db.database_name);
    expect(names.length).toBeGreaterThan(0);
    expect(created("create-d1")).toEqual(names);
    expect(created("migrate-d1")).toEqual(names);
  });

  it("migrates every send-log partition with the same migrations, before the Worker goes out", () => {
    const partitions = config.d1_databases.filter((db) => db.binding.startsWith("SEND_LOG_"));
    expect(partitions.length).toBeGreaterThan(0);
    for (const db of config.d1_databases) {
      expect((db as { migrations_dir?: string }).migrations_dir).toBe("migrations");
    }
    // A second run on an account that has every database still migrates each of them.
    const steps = planDeploy(config, { d1: config.d1_databases.map((db) => db.database_name) });
    const deploy = steps.findIndex((step) => step.kind === "deploy");
    for (const db of partitions) {
      const migrate = steps.findIndex(
        (step) => step.kind === "migrate-d1" && "binding" in step && step.binding === db.binding,
      );
      expect(migrate).toBeGreaterThanOrEqual(0);
      expect(migrate).toBeLessThan(deploy);
    }
  });

  it("creates every queue a producer, a consumer or a dead-letter setting names", () => {
    const named = new Set([
      ...config.queues.producers.map((p) => p.queue),
      ...config.queues.consumers.map((c) => c.queue),
      ...config.queues.consumers.flatMap((c) => (c.dead_letter_queue ? [c.dead_letter_queue] : [])),
    ]);
    // Six queues with a DLQ and a final DLQ each (issue 23), and the bulk lane's dispatch queue
    // with its own DLQ, sharing the dispatch queue's final DLQ (issue 22): the plan follows the file.
    expect(named.size).toBeGreaterThanOrEqual(14);
    expect(named).toContain("relaybox-dispatch-bulk");
    expect(named).toContain("relaybox-dispatch-bulk-dlq");
    expect(new Set(created("create-queue"))).toEqual(named);
    expect(queuesOf(config)).toHaveLength(named.size);
  });

  it("asks for every required secret", () => {
    expect(config.secrets.required).toEqual(expect.arrayContaining(["MASTER_KEY", "PLATFORM_KEY"]));
    expect(created("put-secret")).toEqual(config.secrets.required);
  });

  it("has every Durable Object class created by the Worker's own migrations", () => {
    const classes = new Set(config.migrations.flatMap((m) => m.new_sqlite_classes ?? []));
    for (const binding of config.durable_objects.bindings) {
      expect(classes, binding.name).toContain(binding.class_name);
    }
  });

  it("creates nothing that exists: a second run only migrates and deploys", () => {
    const steps = planDeploy(config, {
      d1: config.d1_databases.map((db) => db.database_name),
      queues: queuesOf(config),
      secrets: config.secrets.required,
    });
    expect(steps.map((step) => step.kind)).toEqual([
      ...config.d1_databases.map(() => "set-d1-id"),
      ...config.d1_databases.map(() => "migrate-d1"),
      "deploy",
    ]);
  });

  it("refuses a kind of binding it does not know how to provision", () => {
    expect(() => planDeploy({ ...config, kv_namespaces: [{ binding: "CACHE", id: "x" }] })).toThrow(
      /kv_namespaces/,
    );
  });

  it("prints the carriers' and WeChat's callback URLs under the public origin", () => {
    const urls = callbackUrls("https://sms.example.com/");
    expect(urls.sms_status).toBe(
      "https://sms.example.com/hooks/sms/{provider}/{hook_token}/status",
    );
    expect(urls.wechat).toBe("https://sms.example.com/wechat/{app_id}");
  });
});
