/**
 * The WeChatAccount's JS-SDK ticket authority: the app's `jsapi_ticket`
 * (`/cgi-bin/ticket/getticket?type=jsapi`), kept like the access token: served from storage while
 * it has more than 5 minutes left, one fetch at a time that every concurrent caller joins (WeChat
 * limits getticket per day as it limits tokens), the fetch made with the token authority's token.
 * Storage: the `jsapi_ticket` table (one row), dropped with the token when the app changes owner.
 */
import { callWeChatApi } from "../../channels/wechat/api-client";
import type {
  AccessToken,
  AccessTokenRequest,
  WeChatResult,
} from "../../channels/wechat/api-types";
import { firstRow } from "../../lib/sql-rows";
import type { WeChatAccountIO } from "./token-authority";

/** A ticket this close to expiry is fetched again (WeChat's tickets last 7200 s). */
const TICKET_AHEAD_MS = 5 * 60_000;

export interface JsapiTicket {
  ticket: string;
  /** Unix ms; counted from before the request was sent. */
  expiresAt: number;
}

export interface TicketAuthorityHost {
  io: () => WeChatAccountIO;
  accessToken: (request: AccessTokenRequest) => Promise<WeChatResult<AccessToken>>;
}

export function migrateTicketTable(sql: SqlStorage): void {
  sql.exec(`CREATE TABLE IF NOT EXISTS jsapi_ticket (
    app_id TEXT PRIMARY KEY, ticket TEXT NOT NULL, expires_at INTEGER NOT NULL)`);
}

export function dropTicket(sql: SqlStorage): void {
  sql.exec("DELETE FROM jsapi_ticket");
}

export class TicketAuthority {
  private stored: (JsapiTicket & { appId: string }) | null | undefined;
  /** The fetch under way, joined by every caller meanwhile. */
  private refreshing: Promise<WeChatResult<JsapiTicket>> | undefined;
  private ownership = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly host: TicketAuthorityHost,
  ) {}

  /** The app's ticket: the stored one while fresh, else the one fetch under way (or a new one). */
  async jsapiTicket(appId: string): Promise<WeChatResult<JsapiTicket>> {
    const stored = this.current();
    if (
      stored &&
      stored.appId === appId &&
      stored.expiresAt - this.host.io().now() > TICKET_AHEAD_MS
    ) {
      return { ok: true, value: { ticket: stored.ticket, expiresAt: stored.expiresAt } };
    }
    if (!this.refreshing) {
      const refresh = this.fetchTicket(appId).finally(() => {
        if (this.refreshing === refresh) {
          this.refreshing = undefined;
        }
      });
      this.refreshing = refresh;
    }
    return this.refreshing;
  }

  /** The app changed owner: the ticket goes, and a fetch under way saves nothing. */
  forget(): void {
    dropTicket(this.sql);
    this.stored = null;
    this.refreshing = undefined;
    this.ownership += 1;
  }

  private current(): (JsapiTicket & { appId: string }) | null {
    if (this.stored === undefined) {
      const row = firstRow(this.sql, "SELECT app_id, ticket, expires_at FROM jsapi_ticket");
      this.stored = row
        ? {
            appId: String(row.app_id),
            ticket: String(row.ticket),
            expiresAt: Number(row.expires_at),
          }
        : null;
    }
    return this.stored;
  }

  private async fetchTicket(appId: string): Promise<WeChatResult<JsapiTicket>> {
    const ownership = this.ownership;
    const io = this.host.io();
    const sentAt = io.now();
    const answer = await callWeChatApi(
      appId,
      "/cgi-bin/ticket/getticket",
      { method: "GET", query: { type: "jsapi" } },
      { fetch: io.fetch, accessToken: (request) => this.host.accessToken(request) },
    );
    if (!answer.ok) {
      return answer;
    }
    const { ticket, expires_in } = answer.value;
    if (typeof ticket !== "string" || ticket === "" || typeof expires_in !== "number") {
      return {
        ok: false,
        error: {
          code: "bad-response",
          retryable: true,
          message: "WeChat's getticket answer has no ticket",
        },
      };
    }
    const value = { ticket, expiresAt: sentAt + expires_in * 1000 };
    if (ownership === this.ownership) {
      this.sql.exec("DELETE FROM jsapi_ticket");
      this.sql.exec(
        "INSERT INTO jsapi_ticket (app_id, ticket, expires_at) VALUES (?, ?, ?)",
        appId,
        value.ticket,
        value.expiresAt,
      );
      this.stored = { appId, ...value };
    }
    return { ok: true, value };
  }
}
