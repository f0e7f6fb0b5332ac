/**
 * WeChatAccount: one per WeChat Official Account (`idFromName("wechat:" + appId)`), the only code
 * that calls WeChat's access-token endpoints (and its JS-SDK ticket endpoint) for that app.
 *
 * Receives: `accessToken()` from the API client (channels/wechat/api-client.ts, as the services and
 * the dispatch consumer give it this object), normally, after WeChat answered 42001 (expired), or
 * forced after 40001 (invalid); `receive()` from the webhook
 * for every delivery WeChat makes; `adopt()` and `release()` as a tenant registers or deletes the
 * app (services/wechat/apps.ts); and its own alarm.
 * Guarantees: a token valid for more than 5 minutes is served from storage without a fetch; one
 * refresh at a time, every concurrent caller waiting for it; a token is refreshed ahead of expiry
 * by an alarm (safe to run twice); forced refreshes keep to WeChat's limit (20 in 24 h, 30 s
 * apart) and a refused one is a `refresh-limited` error, never a silent stale token; errors are
 * returned as values with WeChat's errcode and errmsg. Each delivery is recorded once (its dedup
 * record, reply and the work it triggers in one transaction, see inbound.ts), so WeChat's
 * retries, even in several isolates at once, get the first answer and store nothing twice; that
 * work is copied to D1 by this object, one copy at a time, at the end of the delivery (waiting at
 * most COPY_WAIT_MS, so the reply keeps WeChat's 5 s) and by its alarm until D1 takes it. A
 * delivery whose signature (timestamp and nonce) came before with another message is refused,
 * recording nothing (signature-uses.ts). An app id can pass from tenant to tenant: a new
 * owner never gets the token fetched with the last owner's AppSecret, nor its dedup records.
 * Never: logs or returns in an error a token or the AppSecret; serves another app's token.
 */
import { DurableObject } from "cloudflare:workers";
import type {
  AccessToken,
  AccessTokenRequest,
  WeChatResult,
} from "../../channels/wechat/api-types";
import { settingsOf } from "../../config/settings";
import type { InboxRowValues } from "../../delivery/wechat-account";
import { ownOriginFetch } from "../../lib/own-origin";
import { forgetInbound, migrateInbound, recordInbound } from "./inbound";
import { InboundCopier } from "./inbound-copy";
import { migrateSignatureUses, type SignatureUse, takeSignature } from "./signature-uses";
import { type JsapiTicket, migrateTicketTable, TicketAuthority } from "./ticket-authority";
import { TokenAuthority, type WeChatAccountIO } from "./token-authority";
import { dropToken, migrateTokenTables } from "./token-store";

/**
 * How long a delivery waits for its copy to D1 before it is answered anyway: WeChat gives the
 * whole request 5 s, and the Worker has its own reads to do. The copy goes on after the answer.
 */
const COPY_WAIT_MS = 1_500;
/** The alarm a delivery sets as it is recorded, in case its own copy never finishes. */
const COPY_BACKSTOP_MS = 10_000;

/** What became of a delivery: recorded (or seen before), or refused for a signature used again. */
export type Reception =
  | { duplicate: boolean; reply: string | null }
  | { refused: "signature-reused" };

export class WeChatAccount extends DurableObject<Env> {
  // WeChat and the clock are reached through `this.io` at the time of use, so tests may swap it
  // on an instance. An API base URL of our own (the local WeChat sandbox) is served in process.
  private io: WeChatAccountIO;
  private readonly sql: SqlStorage;
  /** The app this object serves, once a call or the stored token has named it. */
  private boundAppId: string | undefined;
  /** Serves and refreshes the app's token. */
  private readonly tokens: TokenAuthority;
  /** Serves the app's JS-SDK ticket, fetched with the token above. */
  private readonly tickets: TicketAuthority;
  /** Carries the deliveries' recorded work to D1. */
  private readonly inbound: InboundCopier;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const fetch = ownOriginFetch(settingsOf(env).PUBLIC_BASE_URL);
    this.io = { fetch, now: () => Date.now() };
    this.sql = ctx.storage.sql;
    migrateTokenTables(this.sql);
    migrateInbound(this.sql);
    migrateSignatureUses(this.sql);
    migrateTicketTable(this.sql);
    this.tokens = new TokenAuthority(this.sql, env, {
      io: () => this.io,
      alarmNoLaterThan: (at) => this.alarmNoLaterThan(at),
    });
    this.tickets = new TicketAuthority(this.sql, {
      io: () => this.io,
      accessToken: (request) => this.tokens.accessToken(request),
    });
    this.inbound = new InboundCopier(this.sql, env, {
      now: () => this.io.now(),
      alarmNoLaterThan: (at) => this.alarmNoLaterThan(at),
    });
  }

  /**
   * Records a delivery once, with the work it triggers, and copies that work to D1. Returns whether
   * it was seen before and the reply (serialised) to answer with: the first delivery's for a
   * repeat; or, recording nothing, that its signature came before with another message.
   */
  async receive(row: InboxRowValues, reply: string | null, use: SignatureUse): Promise<Reception> {
    if (!this.serves(row.appId)) {
      throw new Error(`This WeChatAccount serves ${this.boundAppId}, not ${row.appId}`);
    }
    const now = this.io.now();
    const result = this.ctx.storage.transactionSync((): Reception => {
      if (!takeSignature(this.sql, use, now)) {
        return { refused: "signature-reused" };
      }
      return recordInbound(this.sql, row, reply, now);
    });
    if ("refused" in result) {
      return result;
    }
    if (!result.duplicate) {
      // Should this object be evicted before the copy below is done, the alarm still does it.
      await this.alarmNoLaterThan(now + COPY_BACKSTOP_MS);
    }
    await this.inbound.copyWithin(COPY_WAIT_MS);
    return result;
  }

  /**
   * `tenantId` registered the app (again): the token fetched with an earlier owner's AppSecret,
   * and whatever is kept of another tenant's deliveries, are forgotten.
   */
  async adopt(appId: string, tenantId: string): Promise<void> {
    this.changeOwner(appId, tenantId, "others");
  }

  /** `tenantId` deleted the app: its token and what is kept of the tenant's deliveries go. */
  async release(appId: string, tenantId: string): Promise<void> {
    this.changeOwner(appId, tenantId, "tenant");
  }

  /**
   * A token for the app's API calls. With `rejectedToken`, one other than that token (fetching
   * one unless another caller already did); with `force`, WeChat is asked to replace its token.
   */
  async accessToken(request: AccessTokenRequest): Promise<WeChatResult<AccessToken>> {
    const { appId } = request;
    if (!this.serves(appId)) {
      // A programming error on the caller's side, answered as a value: a throw from an RPC
      // method surfaces as an uncaught exception in the object as well as in the caller.
      return {
        ok: false,
        error: {
          code: "app-not-found",
          retryable: false,
          message: `This WeChatAccount serves ${this.boundAppId}, not ${appId}`,
        },
      };
    }
    return this.tokens.accessToken(request);
  }

  /** The app's JS-SDK `jsapi_ticket`: stored while fresh, one fetch at a time. */
  async jsapiTicket(appId: string): Promise<WeChatResult<JsapiTicket>> {
    if (!this.serves(appId)) {
      return {
        ok: false,
        error: {
          code: "app-not-found",
          retryable: false,
          message: `This WeChatAccount serves ${this.boundAppId}, not ${appId}`,
        },
      };
    }
    return this.tickets.jsapiTicket(appId);
  }

  /**
   * Copies inbound work D1 has not taken yet, then refreshes the token ahead of its expiry; a run
   * finding nothing to do only sets the next alarm.
   */
  async alarm(): Promise<void> {
    await this.inbound.copy();
    await this.tokens.refreshAhead();
  }

  /**
   * Sets the alarm for `at` unless it is set earlier: the token's refresh and the inbound copies
   * share the one alarm an object has, and each run of it sets the next one for both.
   */
  private async alarmNoLaterThan(at: number): Promise<void> {
    // Inside alarm() this is null until the run sets a new one (Cloudflare's alarms API).
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) {
      await this.ctx.storage.setAlarm(at);
    }
  }

  /**
   * Forgets the token (and the settings it was fetched with), and the deliveries of `tenantId`
   * or of every other tenant; a refresh under way saves nothing. The forced-refresh count stays:
   * it is WeChat's limit on the account, whoever owns it here.
   */
  private changeOwner(appId: string, tenantId: string, whose: "tenant" | "others"): void {
    if (!this.serves(appId)) {
      throw new Error(`This WeChatAccount serves ${this.boundAppId}, not ${appId}`);
    }
    this.ctx.storage.transactionSync(() => {
      dropToken(this.sql);
      forgetInbound(this.sql, tenantId, whose);
    });
    this.tokens.forget();
    this.tickets.forget();
  }

  /**
   * Whether this object serves `appId`; the first app named binds it. One object serves one app:
   * its name is derived from the app id.
   */
  private serves(appId: string): boolean {
    const owner = this.boundAppId ?? this.tokens.storedAppId();
    if (owner !== undefined && owner !== appId) {
      return false;
    }
    this.boundAppId = appId;
    return true;
  }
}
