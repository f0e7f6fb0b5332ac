import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { keyset, pageOf } from "../../src/db/paging";
import { contacts, wechatFollowers } from "../../src/db/schema";

describe("keyset", () => {
  it("pages newest first: ids below the cursor, descending, one row past the page", () => {
    const paging = keyset(contacts.id, { limit: 20, cursor: "ctc_01J0000000000000000000000Z" });
    const query = database(env.DB)
      .select({ id: contacts.id })
      .from(contacts)
      .where(and(eq(contacts.tenantId, "tnt_x"), paging.after))
      .orderBy(paging.orderBy)
      .limit(paging.limit)
      .toSQL();
    expect(query.sql).toBe(
      'select "id" from "contacts" where ("contacts"."tenant_id" = ? and "contacts"."id" < ?) order by "contacts"."id" desc limit ?',
    );
    expect(query.params).toEqual(["tnt_x", "ctc_01J0000000000000000000000Z", 21]);
  });

  it("leaves the cursor's condition out on the first page", () => {
    const paging = keyset(contacts.id, { limit: 5 });
    expect(paging.after).toBeUndefined();
    expect(paging.limit).toBe(6);
  });

  it("pages in ascending order: keys above the cursor", () => {
    const paging = keyset(wechatFollowers.openid, { limit: 2, cursor: "o1" }, "ascending");
    const query = database(env.DB)
      .select({ openid: wechatFollowers.openid })
      .from(wechatFollowers)
      .where(paging.after)
      .orderBy(paging.orderBy)
      .limit(paging.limit)
      .toSQL();
    expect(query.sql).toBe(
      'select "openid" from "wechat_followers" where "wechat_followers"."openid" > ? order by "wechat_followers"."openid" asc limit ?',
    );
    expect(query.params).toEqual(["o1", 3]);
  });
});

describe("pageOf", () => {
  const rows = ["e", "d", "c"].map((id) => ({ id }));

  it("gives the page and the last key on it when a row past the page was fetched", () => {
    expect(pageOf(rows, { limit: 2 }, (row) => row.id)).toEqual({
      data: [{ id: "e" }, { id: "d" }],
      nextCursor: "d",
    });
  });

  it("gives no cursor on the last page", () => {
    expect(pageOf(rows, { limit: 3 }, (row) => row.id)).toEqual({ data: rows, nextCursor: null });
    expect(pageOf([], { limit: 3 }, (row: { id: string }) => row.id)).toEqual({
      data: [],
      nextCursor: null,
    });
  });
});
