/**
 * The export's body: a ReadableStream that reads the send log a page at a time (by cursor, as the
 * list pages) only when the client has taken the page before, so memory holds one page whatever
 * the export's size. The rows are the list's (`present`), written as CSV or NDJSON.
 */
import { settingsOf } from "../../config/settings";
import type { Caller } from "../../domain/caller";
import { type CsvColumnKind, csvCell, csvRow, UTF8_BOM } from "../../domain/csv";
import { type MessageFilters, messagePages } from "../../services/messaging/message-reads";
import { present } from "./messages.view";

type MessageView = ReturnType<typeof present>;

/** The CSV's columns: header, how the cell is written, and the value from the message's view. */
const CSV_COLUMNS: [string, CsvColumnKind, (m: MessageView) => string | number | null][] = [
  ["id", "text", (m) => m.id],
  ["created_at", "text", (m) => m.created_at],
  ["channel", "text", (m) => m.channel],
  ["status", "text", (m) => m.status],
  ["status_reason", "text", (m) => m.status_reason],
  ["to", "phone", (m) => m.to],
  ["from", "phone", (m) => m.from],
  ["body", "text", (m) => m.body],
  ["segments", "text", (m) => m.segments],
  ["encoding", "text", (m) => m.encoding],
  ["cost", "text", (m) => m.cost],
  ["currency", "text", (m) => m.currency],
  ["provider", "text", (m) => m.provider],
  ["provider_message_id", "text", (m) => m.provider_message_id],
  ["kind", "text", (m) => m.kind],
  ["template_id", "text", (m) => m.template_id],
  ["template_version", "text", (m) => m.template_version],
  ["batch_id", "text", (m) => m.batch_id],
  ["mode", "text", (m) => m.mode],
  ["send_at", "text", (m) => m.send_at],
  ["sent_at", "text", (m) => m.sent_at],
  ["completed_at", "text", (m) => m.completed_at],
  ["metadata", "text", (m) => (m.metadata ? JSON.stringify(m.metadata) : null)],
];

const FORMATS = {
  csv: {
    contentType: "text/csv; charset=utf-8",
    header: csvRow(CSV_COLUMNS.map(([name]) => name)),
    row: (m: MessageView) => csvRow(CSV_COLUMNS.map(([, kind, value]) => csvCell(value(m), kind))),
  },
  ndjson: {
    contentType: "application/x-ndjson; charset=utf-8",
    header: "",
    row: (m: MessageView) => `${JSON.stringify(m)}\n`,
  },
} as const;

/** The streamed export as a response with its file name. */
export function exportResponse(
  env: Env,
  caller: Caller,
  filters: MessageFilters,
  options: { format: keyof typeof FORMATS; bom: boolean },
): Response {
  const format = FORMATS[options.format];
  const pages = messagePages(env, caller, filters, settingsOf(env).EXPORT_PAGE_SIZE);
  const encoder = new TextEncoder();
  const currency = caller.tenant.currency;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const bom = options.bom && options.format === "csv" ? UTF8_BOM : "";
        if (bom || format.header) {
          controller.enqueue(encoder.encode(bom + format.header));
        }
      },
      // Called when the client has taken what was queued: one page read per pull.
      async pull(controller) {
        const next = await pages.next();
        if (next.done) {
          controller.close();
          return;
        }
        let text = "";
        for (const row of next.value) {
          text += format.row(present(row, currency));
        }
        controller.enqueue(encoder.encode(text));
      },
      async cancel() {
        await pages.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  const stamp = new Date().toISOString().slice(0, 19).replaceAll(":", "-");
  return new Response(stream, {
    status: 200,
    headers: {
      "content-type": format.contentType,
      "content-disposition": `attachment; filename="messages-${stamp}.${options.format}"`,
      "cache-control": "no-store",
    },
  });
}
