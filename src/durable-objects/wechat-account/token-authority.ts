/**
 * The WeChatAccount's token authority (wechat-account.ts states the guarantees): serves the stored
 * token while it is fresh, runs one refresh at a time that every concurrent caller joins, keeps
 * forced refreshes within WeChat's limit, and refreshes ahead of expiry from the object's alarm.
 * Storage is token-store.ts; the object's alarm and its WeChat and clock are the host's, reached
 * at the time of use (tests swap the object's `io`).
 */
import type {
  AccessToken,
  AccessTokenRequest,
  WeChatResult,
} from "../../channels/wechat/api-types";
import { requestAccessToken, type WeChatTokenApp } from "../../channels/wechat/token-endpoint";
import { loadTokenApp } from "../../delivery/wechat-token-app";
import { readToken, type StoredToken, saveToken, takeForcedRefresh } from "./token-store";

/** Refresh this long before expiry: stable_token gives a new token only in the last 5 minutes. */
export const REFRESH_AHEAD_MS = 5 * 60_000;
/** After a refresh (ok or failed), the next one waits this long while the token still works. */
const REFRESH_PAUSE_MS = 30_000;
/** A token this close to expiry is not handed out: the call it is for would outlive it. */
const EXPIRY_MARGIN_MS = 10_000;
/** App settings (the secret, the API base URL) are read again after this long. */
const APP_CACHE_MS = 60_000;

export interface WeChatAccountIO {
  fetch: (request: Request) => Promise<Response>;
  now: () => number;
}

export interface TokenAuthorityHost {
  /** The object's WeChat and clock, read at each use. */
  io: () => WeChatAccountIO;
  /** Sets the object's alarm for `at` unless it is set earlier. */
  alarmNoLaterThan: (at: number) => Promise<void>;
}

interface Refresh {
  promise: Promise<WeChatResult<AccessToken>>;
  forced: boolean;
}

export class TokenAuthority {
  /** In-memory copy of the `access_token` row, read once per instance. */
  private stored: StoredToken | null | undefined;
  private app: { settings: Promise<WeChatResult<WeChatTokenApp>>; loadedAt: number } | undefined;
  /** The refresh under way: the object is single-threaded but its awaits interleave. */
  private refreshing: Refresh | undefined;
  private lastRefreshAt = 0;
  /** Moves on as the app changes owner: a refresh begun for the last owner saves nothing. */
  private ownership = 0;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly host: TokenAuthorityHost,
  ) {}

  private get io(): WeChatAccountIO {
    return this.host.io();
  }

  /** The app the stored token is for, if one is stored. */
  storedAppId(): string | undefined {
    return this.current()?.appId;
  }

  /**
   * A token for the app's API calls (the host has checked it serves the app). With
   * `rejectedToken`, one other than that token (fetching one unless another caller already did);
   * with `force`, WeChat is asked to replace its token.
   */
  async accessToken(request: AccessTokenRequest): Promise<WeChatResult<AccessToken>> {
    const { appId } = request;
    const force = request.force === true;
    const rejected = request.rejectedToken ?? (force ? this.current()?.token : undefined);
    let result: WeChatResult<AccessToken> | undefined;
    // Usually one round. A forced request that joined a normal refresh may get back the token it
    // came to replace; it then forces one of its own (joining again if another started first).
    for (let round = 0; round < 3; round++) {
      const stored = this.current();
      if (stored && stored.token !== rejected && this.servable(stored, this.io.now())) {
        return this.answer(appId, stored);
      }
      const joined = this.refreshing;
      if (!joined) {
        return this.startRefresh(appId, force).promise;
      }
      result = await joined.promise;
      if (!force || joined.forced || !result.ok || result.value.token !== rejected) {
        return result;
      }
    }
    return result ?? this.startRefresh(appId, force).promise;
  }

  /**
   * From the object's alarm: refreshes the token ahead of its expiry; with time to spare, only
   * sets the alarm for when it is due.
   */
  async refreshAhead(): Promise<void> {
    const stored = this.current();
    if (!stored) {
      return;
    }
    const now = this.io.now();
    if (stored.expiresAt - now > REFRESH_AHEAD_MS) {
      await this.scheduleRefresh(stored);
      return;
    }
    const result = await (this.refreshing ?? this.startRefresh(stored.appId, false)).promise;
    // A success has set the next alarm. After a failure, try again in a minute while the token
    // lasts; once it is gone, the next caller fetches one.
    const retryAt = this.io.now() + 60_000;
    if (!result.ok && stored.expiresAt > retryAt) {
      await this.host.alarmNoLaterThan(retryAt);
    }
  }

  /**
   * The app changed owner and the stored token is gone (the host dropped it from storage): the
   * settings it was fetched with go too, and a refresh under way saves nothing.
   */
  forget(): void {
    this.stored = null;
    this.app = undefined;
    this.refreshing = undefined;
    this.ownership += 1;
  }

  private current(): StoredToken | null {
    if (this.stored === undefined) {
      this.stored = readToken(this.sql);
    }
    return this.stored;
  }

  /**
   * Fresh (more than 5 minutes left), or in its last minutes but refreshed moments ago: WeChat
   * handed back a short-lived token, or the refresh failed, and asking again on every call would
   * not help.
   */
  private servable(stored: StoredToken, now: number): boolean {
    if (stored.expiresAt - now > REFRESH_AHEAD_MS) {
      return true;
    }
    const lastRefresh = Math.max(stored.fetchedAt, this.lastRefreshAt);
    return stored.expiresAt - now > EXPIRY_MARGIN_MS && now - lastRefresh < REFRESH_PAUSE_MS;
  }

  private async answer(appId: string, stored: StoredToken): Promise<WeChatResult<AccessToken>> {
    const app = await this.appSettings(appId);
    if (!app.ok) {
      return app;
    }
    return {
      ok: true,
      value: { token: stored.token, expiresAt: stored.expiresAt, apiBaseUrl: app.value.apiBaseUrl },
    };
  }

  /** The app's settings, shared by concurrent callers; a failed read is not kept. */
  private appSettings(appId: string): Promise<WeChatResult<WeChatTokenApp>> {
    const now = this.io.now();
    if (!this.app || now - this.app.loadedAt >= APP_CACHE_MS) {
      const entry = { settings: loadTokenApp(this.env, appId), loadedAt: now };
      this.app = entry;
      const forget = () => {
        if (this.app === entry) {
          this.app = undefined;
        }
      };
      entry.settings.then((settings) => (settings.ok ? undefined : forget()), forget);
    }
    return this.app.settings;
  }

  private startRefresh(appId: string, force: boolean): Refresh {
    const refresh: Refresh = {
      promise: this.refresh(appId, force).finally(() => {
        if (this.refreshing === refresh) {
          this.refreshing = undefined;
        }
      }),
      forced: force,
    };
    this.refreshing = refresh;
    return refresh;
  }

  private async refresh(appId: string, force: boolean): Promise<WeChatResult<AccessToken>> {
    const ownership = this.ownership;
    const app = await this.appSettings(appId);
    if (!app.ok) {
      return app;
    }
    const sentAt = this.io.now();
    if (force) {
      const allowance = takeForcedRefresh(this.sql, sentAt);
      if (!allowance.allowed) {
        return {
          ok: false,
          error: {
            code: "refresh-limited",
            retryable: true,
            retryAfterMs: allowance.retryAfterMs,
            message: "WeChat allows 20 forced token refreshes a day, 30 s apart",
          },
        };
      }
    }
    this.lastRefreshAt = sentAt;
    const answer = await requestAccessToken(app.value, force, this.io.fetch);
    if (!answer.ok) {
      // A normal refresh ahead of expiry that failed leaves a token that still works.
      const stored = this.current();
      if (!force && stored && this.servable(stored, this.io.now())) {
        return this.answer(appId, stored);
      }
      return answer;
    }
    const token: StoredToken = {
      appId,
      token: answer.value.token,
      // Counted from before the request left, so never later than WeChat's own expiry.
      expiresAt: sentAt + answer.value.expiresInSeconds * 1000,
      fetchedAt: sentAt,
    };
    if (ownership !== this.ownership) {
      // Fetched for the app's last owner; its callers may have it, the next owner may not.
      return {
        ok: true,
        value: { token: token.token, expiresAt: token.expiresAt, apiBaseUrl: app.value.apiBaseUrl },
      };
    }
    saveToken(this.sql, token);
    this.stored = token;
    await this.scheduleRefresh(token);
    return {
      ok: true,
      value: { token: token.token, expiresAt: token.expiresAt, apiBaseUrl: app.value.apiBaseUrl },
    };
  }

  private async scheduleRefresh(token: StoredToken): Promise<void> {
    const at = Math.max(token.expiresAt - REFRESH_AHEAD_MS, token.fetchedAt + REFRESH_PAUSE_MS);
    await this.host.alarmNoLaterThan(at);
  }
}
