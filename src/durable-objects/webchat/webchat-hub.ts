/**
 * WebchatHub: one per tenant (`idFromName("tenant:" + tenantId)`), web chat's visitors.
 *
 * Receives (fetch) WebSocket upgrades the `/webchat/connect` route has already checked (widget
 * key, page origin, identity token), with the visitor in `X-Webchat-Visitor` (JSON); (socket)
 * the visitor's messages `{type: "message", id, text}`; (RPC) `deliver`, a message to a visitor
 * from the robot or an agent.
 * Guarantees: a visitor's message is stored once per its client id and handled like an SMS
 * (services/inbound); a message to a visitor is kept in this object's storage until a socket of
 * that visitor took it, so a reply written while the visitor was away arrives on reconnect, once
 * per id; limits per visitor and per page origin (fixed minute windows) answer 429.
 * Never: keeps sockets in memory (Hibernation API: tags name the visitor); reaches another
 * tenant's conversations (the object is the key's tenant's, and stores only under it).
 */
import { DurableObject } from "cloudflare:workers";
import {
  type OutgoingWebchat,
  outgoingView,
  storeVisitorMessage,
  type VisitorSocket,
} from "../../delivery/webchat";
import { WEBCHAT_LIMITS } from "../../domain/webchat";
import { newId } from "../../lib/ids";

const MINUTE = 60_000;
/** Kept for a visitor who never comes back: a week. */
const KEEP_MS = 7 * 24 * 3_600_000;

export class WebchatHub extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
      id TEXT PRIMARY KEY,
      counterpart TEXT NOT NULL,
      body TEXT NOT NULL,
      sender TEXT NOT NULL,
      at INTEGER NOT NULL,
      taken_at INTEGER
    )`);
    this.sql.exec(
      "CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (counterpart, taken_at, at)",
    );
    this.sql.exec(`CREATE TABLE IF NOT EXISTS counters (
      name TEXT NOT NULL, window INTEGER NOT NULL, count INTEGER NOT NULL,
      PRIMARY KEY (name, window)
    )`);
  }

  /** Counts one against `name`'s limit in the current minute; false when it is full. */
  private take(name: string, limit: number, now: number): boolean {
    const window = Math.floor(now / MINUTE);
    const row = this.sql
      .exec<{ count: number }>(
        "SELECT count FROM counters WHERE name = ? AND window = ?",
        name,
        window,
      )
      .toArray()[0];
    if ((row?.count ?? 0) >= limit) {
      return false;
    }
    this.sql.exec(
      `INSERT INTO counters (name, window, count) VALUES (?, ?, 1)
       ON CONFLICT (name, window) DO UPDATE SET count = count + 1`,
      name,
      window,
    );
    this.sql.exec("DELETE FROM counters WHERE window < ?", window - 1);
    return true;
  }

  /** Whether a page origin may open one more socket this minute (the route asks first). */
  async admit(origin: string, now: number = Date.now()): Promise<boolean> {
    return this.take(`connect:${origin}`, WEBCHAT_LIMITS.originConnectsPerMinute, now);
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const visitor = JSON.parse(request.headers.get("X-Webchat-Visitor") ?? "null") as VisitorSocket;
    const pair = new WebSocketPair();
    const [client, server] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(server, [visitor.counterpart]);
    server.serializeAttachment(visitor);
    server.send(JSON.stringify({ type: "hello", name: visitor.name }));
    // What waited for this visitor goes now, in order; taken once a socket had it.
    const now = Date.now();
    const waiting = this.sql
      .exec<{ id: string; counterpart: string; body: string; sender: string; at: number }>(
        "SELECT * FROM outbox WHERE counterpart = ? AND taken_at IS NULL ORDER BY at, id",
        visitor.counterpart,
      )
      .toArray();
    for (const row of waiting) {
      server.send(
        JSON.stringify(outgoingView({ ...row, from: row.sender as OutgoingWebchat["from"] })),
      );
      this.sql.exec("UPDATE outbox SET taken_at = ? WHERE id = ?", now, row.id);
    }
    this.sql.exec("DELETE FROM outbox WHERE at < ?", now - KEEP_MS);
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * A message to a visitor: kept (once per id) and sent to each of the visitor's open sockets.
   * Answers whether it was new (a repeat of an id changes nothing) and whether a socket took it.
   */
  async deliver(message: OutgoingWebchat): Promise<{ stored: boolean; delivered: boolean }> {
    const inserted = this.sql
      .exec(
        `INSERT INTO outbox (id, counterpart, body, sender, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        message.id,
        message.counterpart,
        message.body,
        message.from,
        message.at,
      )
      .toArray();
    if (inserted.length === 0) {
      return { stored: false, delivered: false };
    }
    let delivered = false;
    for (const socket of this.ctx.getWebSockets(message.counterpart)) {
      try {
        socket.send(JSON.stringify(outgoingView(message)));
        delivered = true;
      } catch {
        // A closing socket: the next connect gets it.
      }
    }
    if (delivered) {
      this.sql.exec("UPDATE outbox SET taken_at = ? WHERE id = ?", Date.now(), message.id);
    }
    return { stored: true, delivered };
  }

  override async webSocketMessage(socket: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const visitor = socket.deserializeAttachment() as VisitorSocket;
    if (data === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
      return;
    }
    let parsed: { type?: unknown; id?: unknown; text?: unknown };
    try {
      parsed = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data));
    } catch {
      socket.send(JSON.stringify({ type: "error", status: 400, detail: "not JSON" }));
      return;
    }
    const text = typeof parsed.text === "string" ? parsed.text.trim() : "";
    const clientId =
      typeof parsed.id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(parsed.id) ? parsed.id : null;
    if (parsed.type !== "message" || text === "" || text.length > 4000 || clientId === null) {
      socket.send(
        JSON.stringify({
          type: "error",
          status: 400,
          id: clientId,
          detail: 'send {type: "message", id (1-64 of A-Z a-z 0-9 _ -), text (1-4000 characters)}',
        }),
      );
      return;
    }
    const now = Date.now();
    if (
      !this.take(`visitor:${visitor.counterpart}`, WEBCHAT_LIMITS.visitorMessagesPerMinute, now) ||
      !this.take(`origin:${visitor.origin}`, WEBCHAT_LIMITS.originMessagesPerMinute, now)
    ) {
      socket.send(
        JSON.stringify({
          type: "error",
          status: 429,
          id: clientId,
          retry_after: 60,
          detail: "Too many messages: wait a minute.",
        }),
      );
      return;
    }
    const stored = await storeVisitorMessage(this.env, visitor, {
      id: newId("inb", now),
      clientId,
      body: text,
      at: now,
    });
    socket.send(
      JSON.stringify({
        type: "received",
        id: clientId,
        conversation_id: stored?.conversationId ?? null,
        repeat: stored === null,
      }),
    );
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    try {
      socket.close(code === 1005 ? 1000 : code, "closing");
    } catch {
      // Already closed.
    }
  }
}
