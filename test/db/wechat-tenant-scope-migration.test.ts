/**
 * Migration 0014 on a database that already has WeChat rows: each app's own rows are kept (a
 * reservation gains its app's tenant), and the rows an app left behind when it was deleted, or
 * that went on under its old owner after another tenant registered it, are gone.
 */
import { applyD1Migrations, env, reset } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const BEFORE = "0014_wechat_tenant_scope.sql";

async function run(sql: string, ...values: unknown[]): Promise<void> {
  await env.DB.prepare(sql)
    .bind(...values)
    .run();
}

async function rows(sql: string): Promise<unknown[]> {
  return (await env.DB.prepare(sql).all()).results;
}

describe("migration 0014 (WeChat rows keyed by tenant)", () => {
  it("keeps each app's own rows, gives reservations their tenant and drops what deleted apps left", async () => {
    await reset();
    const cut = env.TEST_MIGRATIONS.findIndex((m) => m.name === BEFORE);
    expect(cut).toBeGreaterThan(0);
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS.slice(0, cut));

    for (const tenant of ["tnt_a", "tnt_b"]) {
      await run(
        `INSERT INTO tenants (id, name, home_country, allowed_countries, created_at)
         VALUES (?, ?, 'CN', '["CN"]', 1)`,
        tenant,
        tenant,
      );
    }
    // wx_kept is tnt_a's; wx_moved was tnt_a's and is tnt_b's now; wx_gone was deleted.
    for (const [app, tenant] of [
      ["wx_kept", "tnt_a"],
      ["wx_moved", "tnt_b"],
    ]) {
      await run(
        `INSERT INTO wechat_apps (app_id, tenant_id, mode, secret_ciphertext, created_at, updated_at)
         VALUES (?, ?, 'plaintext', 'v1.x', 1, 1)`,
        app,
        tenant,
      );
    }
    for (const [app, tenant] of [
      ["wx_kept", "tnt_a"],
      ["wx_moved", "tnt_a"],
      ["wx_moved", "tnt_b"],
      ["wx_gone", "tnt_a"],
    ]) {
      const id = `${app}-${tenant}`;
      await run(
        `INSERT INTO auto_reply_rules (id, tenant_id, channel, scope, match, reply, created_at)
         VALUES (?, ?, 'wechat', ?, 'default', '{}', 1)`,
        id,
        tenant,
        app,
      );
      await run(
        `INSERT INTO wechat_inbox (id, tenant_id, app_id, dedup_key, msg_type, from_user, to_user,
           create_time, fields, received_at) VALUES (?, ?, ?, ?, 'text', 'o', 'gh', 1, '{}', 1)`,
        id,
        tenant,
        app,
        `k-${id}`,
      );
      await run(
        `INSERT INTO contacts (id, tenant_id, external_id, created_at, updated_at)
         VALUES (?, ?, ?, 1, 1)`,
        id,
        tenant,
        id,
      );
      await run(
        `INSERT INTO contact_wechat_bindings (contact_id, tenant_id, app_id, openid, source, created_at)
         VALUES (?, ?, ?, ?, 'api', 1)`,
        id,
        tenant,
        app,
        `o-${id}`,
      );
    }
    // Before 0014 a follower was keyed by app and openid only: one row each.
    for (const [app, tenant] of [
      ["wx_kept", "tnt_a"],
      ["wx_moved", "tnt_a"],
      ["wx_gone", "tnt_a"],
    ]) {
      await run(
        `INSERT INTO wechat_followers (app_id, openid, tenant_id, following, updated_at)
         VALUES (?, 'oFan', ?, 1, 1)`,
        app,
        tenant,
      );
    }
    for (const app of ["wx_kept", "wx_gone"]) {
      await run(
        `INSERT INTO wechat_service_reservations (reservation_key, app_id, openid,
           window_opened_at, message_id, reserved_at) VALUES (?, ?, 'oFan', 1, 'msg_1', 1)`,
        `r-${app}`,
        app,
      );
    }

    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);

    const kept = ["wx_kept-tnt_a", "wx_moved-tnt_b"];
    expect(await rows("SELECT id FROM auto_reply_rules ORDER BY id")).toEqual(
      kept.map((id) => ({ id })),
    );
    expect(await rows("SELECT id FROM wechat_inbox ORDER BY id")).toEqual(
      kept.map((id) => ({ id })),
    );
    expect(
      await rows("SELECT contact_id FROM contact_wechat_bindings ORDER BY contact_id"),
    ).toEqual(kept.map((contact_id) => ({ contact_id })));
    expect(await rows("SELECT tenant_id, app_id, openid FROM wechat_followers")).toEqual([
      { tenant_id: "tnt_a", app_id: "wx_kept", openid: "oFan" },
    ]);
    expect(
      await rows("SELECT reservation_key, tenant_id, app_id FROM wechat_service_reservations"),
    ).toEqual([{ reservation_key: "r-wx_kept", tenant_id: "tnt_a", app_id: "wx_kept" }]);
    // The contacts themselves stay: only their bindings to apps they no longer have go.
    expect(await rows("SELECT COUNT(*) AS n FROM contacts")).toEqual([{ n: 4 }]);
  });
});
