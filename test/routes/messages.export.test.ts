import { describe, expect, it } from "vitest";
import { insertMessage } from "../support/message-rows";
import { expectProblem } from "../support/problem";
import { call, createTenant } from "../support/tenants";

const T0 = Date.parse("2026-11-02T08:00:00.000Z");
const MINUTE = 60_000;

/** RFC 4180 parsing, enough to check what a spreadsheet reads back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charAt(i);
    if (quoted) {
      if (ch === '"' && text.charAt(i + 1) === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text.charAt(i + 1) === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else {
      cell += ch;
    }
  }
  expect(cell).toBe("");
  expect(row).toEqual([]);
  return rows;
}

async function exportCsv(api: (path: string) => Promise<Response>, query = "") {
  const res = await api(`/v1/messages/export?format=csv${query}`);
  expect(res.status).toBe(200);
  const rows = parseCsv(await res.text());
  const [header, ...data] = rows;
  if (!header) {
    throw new Error("no header row");
  }
  return data.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i]])));
}

describe("GET /v1/messages/export", () => {
  it("streams every message as CSV, newest first, across pages, with a file name", async () => {
    const tenant = await createTenant();
    const ids = [];
    for (let i = 0; i < 8; i++) {
      ids.push(await insertMessage(tenant.id, { at: T0 + i * MINUTE, body: `message ${i}` }));
    }
    const res = await tenant.api("/v1/messages/export?format=csv");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(
      /^attachment; filename="messages-[0-9T-]+\.csv"$/,
    );
    const text = await res.text();
    expect(text.startsWith("id,created_at,channel,status,")).toBe(true);
    const rows = parseCsv(text);
    expect(rows).toHaveLength(9); // the header and 8 messages: three pages of 3 (test setting)
    expect(rows.slice(1).map((r) => r[0])).toEqual([...ids].reverse());
    const [first] = await exportCsv(tenant.api, "&status=delivered&until=2026-11-02T08:00:00Z");
    expect(first).toMatchObject({
      id: ids[0],
      created_at: "2026-11-02T08:00:00.000Z",
      status: "delivered",
      to: "+8613800138000",
      body: "message 0",
      cost: "0.0065",
      currency: "USD",
      from: "",
    });
  });

  it("quotes commas, quotes and line breaks and keeps Chinese text as UTF-8", async () => {
    const tenant = await createTenant();
    const body = '您好, "Li"\nline two\r\nline three';
    await insertMessage(tenant.id, { at: T0, body, metadata: { order: "A,1" } });
    const [row] = await exportCsv(tenant.api);
    expect(row?.body).toBe(body);
    expect(row?.metadata).toBe('{"order":"A,1"}');
  });

  it("escapes cells a spreadsheet would run as formulas but keeps E.164 numbers as they are", async () => {
    const tenant = await createTenant();
    const bodies = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"];
    for (const [i, body] of bodies.entries()) {
      await insertMessage(tenant.id, { at: T0 + i * MINUTE, body, from: "+15005550006" });
    }
    await insertMessage(tenant.id, { at: T0 + 10 * MINUTE, body: "ok", from: "=cmd|'/c calc'!A0" });
    const rows = await exportCsv(tenant.api);
    expect(rows.map((r) => r.body)).toEqual(["ok", ...[...bodies].reverse().map((b) => `'${b}`)]);
    expect(rows.map((r) => r.to)).toEqual(Array(7).fill("+8613800138000"));
    // A sender id is free text: only an E.164 number passes unescaped.
    expect(rows.map((r) => r.from)).toEqual([
      "'=cmd|'/c calc'!A0",
      ...Array(6).fill("+15005550006"),
    ]);
  });

  it("starts with a UTF-8 byte order mark when asked", async () => {
    const tenant = await createTenant();
    await insertMessage(tenant.id, { at: T0, body: "中文" });
    const res = await tenant.api("/v1/messages/export?format=csv&bom=true");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect([...bytes.slice(0, 5)]).toEqual([0xef, 0xbb, 0xbf, 0x69, 0x64]); // BOM, "id"
    const plain = new Uint8Array(await (await tenant.api("/v1/messages/export")).arrayBuffer());
    expect([...plain.slice(0, 2)]).toEqual([0x69, 0x64]);
  });

  it("writes NDJSON, one message per line as the list shows it", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 5; i++) {
      await insertMessage(tenant.id, { at: T0 + i * MINUTE, body: `m${i}` });
    }
    const res = await tenant.api("/v1/messages/export?format=ndjson");
    expect(res.headers.get("content-type")).toBe("application/x-ndjson; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/\.ndjson"$/);
    const lines = (await res.text()).split("\n");
    expect(lines.pop()).toBe("");
    const exported = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const listed = (await (await tenant.api("/v1/messages?limit=100")).json()) as {
      data: Record<string, unknown>[];
    };
    expect(exported).toEqual(listed.data);
  });

  it("applies the list's filters: status, to, since and until", async () => {
    const tenant = await createTenant();
    const a = await insertMessage(tenant.id, { at: T0, to: "+8613800138001" });
    const b = await insertMessage(tenant.id, { at: T0 + MINUTE, status: "failed" });
    const c = await insertMessage(tenant.id, { at: T0 + 2 * MINUTE, to: "+8613800138001" });
    const d = await insertMessage(tenant.id, { at: T0 + 3 * MINUTE });
    const ids = async (query: string) => (await exportCsv(tenant.api, query)).map((r) => r.id);
    expect(await ids("&status=failed")).toEqual([b]);
    // A national number is read as the home country's, as the list reads it.
    expect(await ids("&to=13800138001")).toEqual([c, a]);
    expect(await ids("&since=2026-11-02T08:01:00Z&until=2026-11-02T08:02:00Z")).toEqual([c, b]);
    expect(await ids("")).toEqual([d, c, b, a]);
  });

  it("exports only the caller's own tenant, and of it only the key's mode", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const live = await insertMessage(tenant.id, { at: T0 });
    const test = await insertMessage(tenant.id, { at: T0 + MINUTE, mode: "test" });
    await insertMessage(other.id, { at: T0 + 2 * MINUTE });
    expect((await exportCsv(tenant.api)).map((r) => r.id)).toEqual([live]);
    const testKey = await tenant.addKey(["messages:read"], "test");
    const asTest = (path: string) => call(path, testKey.key);
    expect((await exportCsv(asTest)).map((r) => r.id)).toEqual([test]);
  });

  it("needs messages:read and refuses an unknown format with a 400", async () => {
    const tenant = await createTenant();
    const sender = await tenant.addKey(["messages:send"]);
    await expectProblem(await call("/v1/messages/export", sender.key), {
      status: 403,
      slug: "forbidden",
      instance: "/v1/messages/export",
    });
    await expectProblem(await tenant.api("/v1/messages/export?format=xlsx"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/messages/export",
      pointers: ["/query/format"],
    });
  });
});
